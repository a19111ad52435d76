/// J&F floors for the bundled model (with its plugin) on the bundled clips, set a little below the
/// figures measured when it was trained (`Scripts/measure-default.sh`, 2026-11-25: two_objects 0.131,
/// occlusion 0.105). The model is small and weak; the floors catch a broken engine, tracker or writer.
enum DefaultModelFloors {
    static let twoObjects = 0.10
    static let occlusion = 0.08
}
