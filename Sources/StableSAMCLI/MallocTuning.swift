#if canImport(Glibc)
internal import CMalloc
#endif

enum MallocTuning {
    /// Keeps freed tensor buffers in the heap instead of returning them to the kernel: glibc's
    /// default mmaps every large array and unmaps it on free, so each op page-faults its output
    /// anew (PyTorch sees the same; PYTHON.md measured ~35% of its time in the kernel).
    static func keepFreedMemory() {
        #if canImport(Glibc)
        _ = mallopt(M_MMAP_MAX, 0)
        _ = mallopt(M_TRIM_THRESHOLD, Int32.max)
        #endif
    }
}
