int alpha(void);
extern int tunable;
int beta(void) { return alpha() * 2 + tunable; }
