// SegmentAnything module
