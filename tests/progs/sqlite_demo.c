/* Static link against Debian's libsqlite3.a: an in-memory database. */
#include <sqlite3.h>
#include <stdio.h>

static int print_row(void *arg, int n, char **values, char **names)
{
    (void)arg;
    for (int i = 0; i < n; i++)
        printf("%s%s=%s", i ? " " : "", names[i], values[i] ? values[i] : "NULL");
    printf("\n");
    return 0;
}

int main(void)
{
    sqlite3 *db;
    char *err = NULL;
    if (sqlite3_open(":memory:", &db) != SQLITE_OK) {
        printf("open failed\n");
        return 1;
    }
    const char *sql =
        "CREATE TABLE fruit(id INTEGER PRIMARY KEY, name TEXT NOT NULL, price REAL);"
        "INSERT INTO fruit(name, price) VALUES ('apple', 1.25), ('banana', 0.5), ('cherry', 7.0);"
        "CREATE INDEX fruit_price ON fruit(price);"
        "SELECT id, name, price FROM fruit ORDER BY price DESC;"
        "SELECT count(*) AS n, printf('%.2f', sum(price)) AS total, group_concat(name, '+') AS names FROM fruit;"
        "SELECT upper(name) AS u, length(name) * id AS x FROM fruit WHERE price < 2 ORDER BY name;";
    if (sqlite3_exec(db, sql, print_row, NULL, &err) != SQLITE_OK) {
        printf("exec failed: %s\n", err);
        return 1;
    }
    sqlite3_stmt *st;
    sqlite3_prepare_v2(db, "SELECT ?1 * 6, ?2 || '!'", -1, &st, NULL);
    sqlite3_bind_int(st, 1, 7);
    sqlite3_bind_text(st, 2, "bound", -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW)
        printf("bound: %d %s\n", sqlite3_column_int(st, 0), (const char *)sqlite3_column_text(st, 1));
    sqlite3_finalize(st);
    printf("threadsafe=%d\n", sqlite3_threadsafe() != 0);
    sqlite3_close(db);
    return 0;
}
