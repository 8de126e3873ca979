#include <iostream>
#include <stdexcept>
#include <thread>
#include <vector>
#include <typeinfo>
struct Base { virtual ~Base() {} virtual const char* name() const { return "Base"; } };
struct Derived : Base { const char* name() const override { return "Derived"; } };
template <typename T> T twice(T x) { return x + x; }
thread_local std::vector<int> tlv{1,2,3};
struct Tracker { int id; Tracker(int i):id(i){ std::cout << "ctor " << id << "\n"; } ~Tracker(){ } };
thread_local Tracker tr(7);
void thrower(int x);
int main() {
  try { thrower(3); } catch (const std::exception& e) { std::cout << "caught " << e.what() << "\n"; }
  Base* b = new Derived; std::cout << typeid(*b).name() << " " << b->name() << " " << (dynamic_cast<Derived*>(b) != nullptr) << "\n";
  std::cout << twice(21) << " " << twice(std::string("ab")) << "\n";
  std::thread t([]{ tlv.push_back(4); std::cout << "thread size " << tlv.size() << " tr " << tr.id << "\n"; });
  t.join();
  std::cout << "main size " << tlv.size() << "\n";
  delete b;
}
