// C++ in a static executable: exceptions thrown in another object and caught
// by base class, exceptions from libstdc++ itself, RTTI, templates, iostream,
// thread_local objects with constructors and destructors used from std::thread.
#include "cxx_common.h"
#include <iostream>
#include <map>
#include <memory>
#include <sstream>
#include <thread>
#include <typeinfo>

struct Tracer {
    std::string tag;
    explicit Tracer(std::string t) : tag(std::move(t)) { std::cout << "tl ctor " << tag << std::endl; }
    ~Tracer() { std::cout << "tl dtor " << tag << std::endl; }
};

thread_local Tracer tl_tracer("thread");
thread_local int tl_counter = 5;

static Tracer global_tracer("global");

static void thread_body(int id)
{
    tl_tracer.tag = "worker" + std::to_string(id);
    tl_counter += id;
    int lib = lib_thread_local_value();
    std::cout << "worker " << id << " counter " << tl_counter << " lib " << lib << std::endl;
}

int main()
{
    // Exceptions across objects, caught by base class.
    try {
        throw_parse_error(42);
    } catch (const AppError &e) {
        const ParseError *pe = dynamic_cast<const ParseError *>(&e);
        std::cout << "caught AppError what=" << e.what() << " code=" << e.code
                  << " is ParseError=" << (pe != nullptr) << " line=" << (pe ? pe->line : -1) << std::endl;
    }
    try {
        throw_from_deep(3);
    } catch (const std::exception &e) {
        std::cout << "caught std::exception " << e.what() << " dynamic=" << typeid(e).name() << std::endl;
    }
    // Exceptions thrown inside libstdc++.a.
    try {
        std::vector<int> v(3);
        (void)v.at(10);
    } catch (const std::out_of_range &) {
        std::cout << "caught out_of_range" << std::endl;
    }
    try {
        (void)std::stoi("not a number");
    } catch (const std::invalid_argument &e) {
        std::cout << "caught invalid_argument" << std::endl;
    }
    // Rethrow and catch(...).
    try {
        try {
            throw 17;
        } catch (...) {
            std::cout << "rethrowing" << std::endl;
            throw;
        }
    } catch (int x) {
        std::cout << "caught int " << x << std::endl;
    }

    // RTTI across objects.
    std::unique_ptr<Shape> shapes[2] = {std::unique_ptr<Shape>(make_shape(0)),
                                        std::unique_ptr<Shape>(make_shape(1))};
    for (auto &s : shapes) {
        std::cout << s->name() << " area " << s->area() << " typeid " << typeid(*s).name()
                  << " square? " << (dynamic_cast<Square *>(s.get()) != nullptr)
                  << " circle? " << (dynamic_cast<Circle *>(s.get()) != nullptr) << std::endl;
    }
    std::cout << "typeid equal " << (typeid(*shapes[0]) == typeid(Square)) << std::endl;

    // Templates instantiated in both objects.
    Accumulator<int> acc;
    acc.add(3);
    acc.add(4);
    std::cout << "main accumulate " << twice_shared(acc.total()) << " lib accumulate " << lib_accumulate(4)
              << std::endl;
    std::cout << "twice " << twice_shared(std::string("ab")) << " " << lib_twice("cd") << std::endl;

    // Standard library containers and streams.
    std::map<std::string, int> m{{"one", 1}, {"two", 2}, {"three", 3}};
    std::ostringstream os;
    for (auto &kv : m)
        os << kv.first << "=" << kv.second << ";";
    std::cout << os.str() << std::endl;

    // thread_local with constructor and destructor, from std::thread.
    int lib = lib_thread_local_value();
    std::cout << "main counter " << tl_counter << " lib " << lib << std::endl;
    for (int i = 1; i <= 3; i++) {
        std::thread t(thread_body, i);
        t.join();
    }
    std::string tag = tl_tracer.tag;
    std::cout << "main tracer " << tag << " counter " << tl_counter << std::endl;
    return 0;
}
