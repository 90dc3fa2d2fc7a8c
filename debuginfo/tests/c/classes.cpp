/*
 * Test program for deja's DWARF reader in C++: a namespace, a class with a base class and
 * virtual methods, a method defined in its class, a reference. Built at -O0 without a C++
 * runtime (see build.sh); the .wasm file is committed.
 */
#include <stdio.h>
#include <stdlib.h>

// No C++ runtime is linked (-nostdlib++): the virtual destructor needs these.
void operator delete(void *p) noexcept { free(p); }
void operator delete(void *p, unsigned long) noexcept { free(p); }
namespace geo {
struct Point {
    int x, y;
    int dot(const Point &o) const { return x * o.x + y * o.y; }
};
class Shape {
  public:
    Shape(const char *n, int s) : name(n), sides(s) {}
    virtual ~Shape() {}
    virtual int area() const { return 0; }
    const char *name;
    int sides;
};
class Rect : public Shape {
  public:
    Rect(int w, int h) : Shape("rect", 4), w(w), h(h) {}
    int area() const override {
        int a = w * h;
        printf("area %s %d\n", name, a); /* break here */
        return a;
    }
    int w, h;
};
} // namespace geo

int main() {
    geo::Rect r(3, 4);
    geo::Point p{1, 2}, q{3, 4};
    const geo::Shape &s = r;
    return s.area() + p.dot(q) == 0;
}
