/* A static program against a target's libsqlite3.a and libz.a (Debian's
   multiarch -dev:i386 / -dev:arm64 packages).  The cross compilers do not see
   the host's /usr/include, so the few entry points are declared here. */
#include <stdio.h>
#include <string.h>

typedef struct sqlite3 sqlite3;
int sqlite3_open(const char *, sqlite3 **);
int sqlite3_exec(sqlite3 *, const char *, int (*)(void *, int, char **, char **), void *, char **);
int sqlite3_close(sqlite3 *);
const char *sqlite3_libversion(void);
int compress2(unsigned char *, unsigned long *, const unsigned char *, unsigned long, int);
int uncompress(unsigned char *, unsigned long *, const unsigned char *, unsigned long);
unsigned long crc32(unsigned long, const unsigned char *, unsigned);

static char rows[4096];

static int row(void *arg, int n, char **v, char **names)
{
    (void)arg; (void)names;
    for (int i = 0; i < n; i++) {
        strcat(rows, v[i] ? v[i] : "NULL");
        strcat(rows, i + 1 < n ? "," : ";");
    }
    return 0;
}

int main(void)
{
    sqlite3 *db;
    char *err = 0;
    if (sqlite3_open(":memory:", &db))
        return 1;
    if (sqlite3_exec(db, "create table t(a integer, b text);"
                     "with recursive c(x) as (select 1 union all select x+1 from c where x<100) "
                     "insert into t select x, printf('r%03d', x) from c;"
                     "select count(*), sum(a), max(b), group_concat(b, '') like '%r050r051%' from t;"
                     "select a * 1.5, upper(b) from t where a % 40 = 0 order by a desc;",
                     row, 0, &err)) {
        printf("sqlite error: %s\n", err);
        return 1;
    }
    sqlite3_close(db);
    unsigned char packed[8192], back[8192];
    unsigned long plen = sizeof packed, blen = sizeof back;
    if (compress2(packed, &plen, (unsigned char *)rows, strlen(rows) + 1, 9))
        return 2;
    if (uncompress(back, &blen, packed, plen) || strcmp((char *)back, rows))
        return 3;
    printf("%s %lu %08lx %d\n", rows, blen, crc32(0, back, blen), sqlite3_libversion()[0] == '3');
    return 0;
}
