#include <stdexcept>
#include <string>
#include <vector>
#include <typeinfo>
struct Shape { virtual ~Shape() {} virtual std::string name() const = 0; };
struct Circle : Shape { std::string name() const override { return "circle"; } };
template <typename T> T accumulate_all(const std::vector<T> &v) { T s{}; for (auto &x : v) s += x; return s; }
Shape *make_shape() { return new Circle; }
int checked_div(int a, int b) { if (b == 0) throw std::domain_error("division by zero"); return a / b; }
int sum_ints(const std::vector<int> &v) { return accumulate_all(v); }
thread_local int lib_tl = 5;
int bump_tl() { return ++lib_tl; }
