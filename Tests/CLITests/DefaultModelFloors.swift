/// J&F floors for the bundled model (with its plugin) on the bundled clips, set a little below the
/// figures measured when it was trained (`python3 Scripts/measure_tracking.py Clips`, 2026-12-03,
/// base step 4566: two_objects 0.930, occlusion 0.853). The model is small and still weak; the
/// floors catch a broken engine, tracker or writer, and a model or tracker change that makes
/// tracking worse.
enum DefaultModelFloors {
    static let twoObjects = 0.85
    static let occlusion = 0.75
}
