#include <Python.h>
int main(void) {
  Py_Initialize();
  int rc = PyRun_SimpleString(
    "import json, sqlite3, sys\n"
    "db = sqlite3.connect(':memory:')\n"
    "db.execute('create table t(x)'); db.executemany('insert into t values (?)', [(i,) for i in range(5)])\n"
    "print(json.dumps({'sum': db.execute('select sum(x) from t').fetchone()[0], 'py': sys.version_info[:2]}))\n");
  Py_Finalize();
  return rc;
}
