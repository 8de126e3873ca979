/* exact_fifteen.o: a name of exactly 15 characters, the longest kept in the header */
int exact(void) { return 15; }
