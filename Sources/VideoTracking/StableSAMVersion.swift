/// The package's version: recorded in every run's summary.json, and what `stablesam --version` says.
public enum StableSAMVersion {
    public static let string = "0.1.0"
}
