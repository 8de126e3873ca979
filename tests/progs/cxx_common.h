// Shared by cxx_main.cpp and cxx_lib.cpp: a class hierarchy with virtual
// functions (vtables, typeinfo), an exception hierarchy and templates that
// both objects instantiate (COMDAT groups the linker must keep once).
#pragma once
#include <stdexcept>
#include <string>
#include <vector>

struct AppError : std::runtime_error {
    int code;
    AppError(const std::string &what, int code) : std::runtime_error(what), code(code) {}
};
struct ParseError : AppError {
    int line;
    ParseError(const std::string &what, int line) : AppError(what, 2), line(line) {}
};

struct Shape {
    virtual ~Shape() {}
    virtual double area() const = 0;
    virtual std::string name() const = 0;
};
struct Square : Shape {
    double s;
    explicit Square(double s) : s(s) {}
    double area() const override;
    std::string name() const override;
};
struct Circle : Shape {
    double r;
    explicit Circle(double r) : r(r) {}
    double area() const override;
    std::string name() const override;
};

template <typename T> struct Accumulator {
    std::vector<T> items;
    void add(const T &x) { items.push_back(x); }
    T total() const
    {
        T sum{};
        for (const T &x : items)
            sum = sum + x;
        return sum;
    }
};

template <typename T> __attribute__((noipa)) T twice_shared(T x) { return x + x; }

// Defined in cxx_lib.cpp.
Shape *make_shape(int kind);
void throw_parse_error(int line);
void throw_from_deep(int depth);
int lib_accumulate(int n);
std::string lib_twice(const std::string &s);
int lib_thread_local_value();
