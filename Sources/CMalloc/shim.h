#pragma once
// glibc's mallopt, which Swift's Glibc module does not export.
#include <malloc.h>
