#include "cxx_common.h"
#include <cstdio>

double Square::area() const { return s * s; }
std::string Square::name() const { return "Square"; }
double Circle::area() const { return 3.0 * r * r; }
std::string Circle::name() const { return "Circle"; }

Shape *make_shape(int kind)
{
    if (kind == 0)
        return new Square(2);
    return new Circle(1);
}

void throw_parse_error(int line) { throw ParseError("bad token", line); }

struct Noisy {
    int depth;
    explicit Noisy(int d) : depth(d) {}
    ~Noisy() { std::printf("unwind %d\n", depth); }
};

void throw_from_deep(int depth)
{
    Noisy n(depth);
    if (depth == 0)
        throw AppError("deep", 7);
    throw_from_deep(depth - 1);
}

int lib_accumulate(int n)
{
    Accumulator<int> acc;
    for (int i = 1; i <= n; i++)
        acc.add(i);
    return twice_shared(acc.total());
}

std::string lib_twice(const std::string &s) { return twice_shared(s); }

struct Counter {
    int value;
    Counter() : value(100) { std::printf("Counter ctor\n"); }
    ~Counter() { std::printf("Counter dtor %d\n", value); }
};
static thread_local Counter lib_counter;

int lib_thread_local_value() { return ++lib_counter.value; }
