#include <sqlite3.h>
#include <stdio.h>
#include <zlib.h>
#include <string.h>
static int cb(void *u, int n, char **v, char **c){ for(int i=0;i<n;i++) printf("%s=%s ", c[i], v[i]); printf("\n"); return 0; }
int main(){ sqlite3 *db; sqlite3_open(":memory:", &db); char *err=0;
sqlite3_exec(db, "create table t(a,b); insert into t values(1,'x'),(2,'y'); select a,b,length(b)*a from t order by a desc;", cb, 0, &err);
if (err) printf("err %s\n", err);
printf("%s\n", sqlite3_libversion()); sqlite3_close(db);
const char *s = "hello hello hello hello"; unsigned char buf[128]; uLongf n = sizeof buf; compress(buf, &n, (const Bytef*)s, strlen(s));
unsigned char out[128]; uLongf m = sizeof out; uncompress(out, &m, buf, n); out[m]=0;
printf("crc=%08lx zlen=%lu back=%s\n", crc32(0, (const Bytef*)s, strlen(s)), (unsigned long)n, out); return 0; }
