#pragma once
// OpenBLAS's CBLAS interface; pkg-config (openblas.pc) supplies the include path.
#include <cblas.h>
// Defined by OpenBLAS itself, declared here so Swift can set the thread count once.
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
