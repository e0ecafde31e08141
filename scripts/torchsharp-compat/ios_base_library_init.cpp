// GCC 13 makes every translation unit that includes <iostream> call std::ios_base_library_init()
// (GLIBCXX_3.4.32) to initialise the standard streams. libstdc++ 12 initialises them through
// ios_base::Init objects of its own, so on such a system the call has nothing left to do.
namespace std {
void ios_base_library_init() {}
}  // namespace std
