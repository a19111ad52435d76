/// J&F floors for the bundled model (with its plugin) on the bundled clips, set a little below the
/// figures measured when it was trained (`python3 Scripts/measure_tracking.py Clips`, 2026-12-02,
/// base step 1529: two_objects 0.709, occlusion 0.460). The model is small and still weak; the
/// floors catch a broken engine, tracker or writer, and a model or tracker change that makes
/// tracking worse.
enum DefaultModelFloors {
    static let twoObjects = 0.62
    static let occlusion = 0.40
}
