#include <iostream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>
#include <typeinfo>
struct Shape { virtual ~Shape() {} virtual std::string name() const = 0; };
struct Circle;
Shape *make_shape();
int checked_div(int, int);
int sum_ints(const std::vector<int> &);
int bump_tl();
int main() {
  Shape *s = make_shape();
  std::cout << s->name() << " " << (typeid(*s) != typeid(Shape)) << "\n";
  try { checked_div(1, 0); } catch (const std::domain_error &e) { std::cout << "caught " << e.what() << "\n"; }
  std::cout << sum_ints({1, 2, 3, 4}) << "\n";
  int a = bump_tl(); int b = 0;
  std::thread t([&] { b = bump_tl(); }); t.join();
  std::cout << a << " " << b << "\n";
  delete s;
}
