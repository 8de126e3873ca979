#include <iostream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>
#include <mutex>
#include <algorithm>
struct Counter { int n = 0; ~Counter() {} };
thread_local Counter counter;
std::mutex mu;
std::vector<std::string> log_lines;
void work(int id) {
  try {
    for (int i = 0; i <= id; i++) counter.n++;
    if (id % 2) throw std::runtime_error("odd " + std::to_string(id));
    std::lock_guard<std::mutex> g(mu); log_lines.push_back("ok " + std::to_string(id) + " " + std::to_string(counter.n));
  } catch (const std::exception &e) {
    std::lock_guard<std::mutex> g(mu); log_lines.push_back(std::string("caught ") + e.what() + " " + std::to_string(counter.n));
  }
}
int main() {
  std::vector<std::thread> ts;
  for (int i = 0; i < 4; i++) ts.emplace_back(work, i);
  for (auto &t : ts) t.join();
  std::sort(log_lines.begin(), log_lines.end());
  for (auto &l : log_lines) std::cout << l << "\n";
  std::cout << "main counter " << counter.n << "\n";
}
