namespace Federated.Data.Parquet;

/// <summary>
/// The shapes of the Parquet format's Thrift structures that a footer (FileMetaData) holds, field id by field id, as
/// the Parquet format specification declares them. <see cref="ParquetFooterCheck"/> walks a footer against these
/// shapes before Parquet.Net decodes it: Parquet.Net's generated decoders dispatch on the field id alone and trust
/// the declared type, so a field whose wire type disagrees with its shape, or an unknown field holding a structure
/// (which the library's skipping code does not skip whole), would make the decoder read past the footer, where its
/// varint reader loops forever.
/// </summary>
internal static class ParquetThriftShapes
{
    internal enum Kind { Bool, I8, I16, I32, I64, Double, Binary, Struct, List }

    internal sealed record Field(string Name, Kind Kind, Shape? Struct = null, Field? Element = null);

    internal sealed class Shape(string name, params (short Id, Field Field)[] fields)
    {
        private readonly Dictionary<short, Field> _fields = fields.ToDictionary(f => f.Id, f => f.Field);

        public string Name { get; } = name;

        public Field? Find(short id) => _fields.GetValueOrDefault(id);
    }

    private static Field Bool(string name) => new(name, Kind.Bool);
    private static Field I8(string name) => new(name, Kind.I8);
    private static Field I16(string name) => new(name, Kind.I16);
    private static Field I32(string name) => new(name, Kind.I32);
    private static Field I64(string name) => new(name, Kind.I64);
    private static Field F64(string name) => new(name, Kind.Double);
    private static Field Bin(string name) => new(name, Kind.Binary);
    private static Field Of(string name, Shape shape) => new(name, Kind.Struct, shape);
    private static Field ListOf(string name, Field element) => new(name, Kind.List, Element: element);
    private static Field ListOf(string name, Shape shape) => new(name, Kind.List, Element: Of(shape.Name, shape));
    private static Shape Empty(string name) => new(name);

    private static readonly Shape SizeStatistics = new("SizeStatistics",
        (1, I64("unencoded_byte_array_data_bytes")), (2, ListOf("repetition_level_histogram", I64("level"))),
        (3, ListOf("definition_level_histogram", I64("level"))));

    private static readonly Shape BoundingBox = new("BoundingBox",
        (1, F64("xmin")), (2, F64("xmax")), (3, F64("ymin")), (4, F64("ymax")),
        (5, F64("zmin")), (6, F64("zmax")), (7, F64("mmin")), (8, F64("mmax")));

    private static readonly Shape GeospatialStatistics = new("GeospatialStatistics",
        (1, Of("bbox", BoundingBox)), (2, ListOf("geospatial_types", I32("type"))));

    private static readonly Shape Statistics = new("Statistics",
        (1, Bin("max")), (2, Bin("min")), (3, I64("null_count")), (4, I64("distinct_count")),
        (5, Bin("max_value")), (6, Bin("min_value")), (7, Bool("is_max_value_exact")), (8, Bool("is_min_value_exact")));

    private static readonly Shape TimeUnit = new("TimeUnit",
        (1, Of("MILLIS", Empty("MilliSeconds"))), (2, Of("MICROS", Empty("MicroSeconds"))), (3, Of("NANOS", Empty("NanoSeconds"))));

    private static readonly Shape LogicalType = new("LogicalType",
        (1, Of("STRING", Empty("StringType"))), (2, Of("MAP", Empty("MapType"))), (3, Of("LIST", Empty("ListType"))),
        (4, Of("ENUM", Empty("EnumType"))),
        (5, Of("DECIMAL", new Shape("DecimalType", (1, I32("scale")), (2, I32("precision"))))),
        (6, Of("DATE", Empty("DateType"))),
        (7, Of("TIME", new Shape("TimeType", (1, Bool("isAdjustedToUTC")), (2, Of("unit", TimeUnit))))),
        (8, Of("TIMESTAMP", new Shape("TimestampType", (1, Bool("isAdjustedToUTC")), (2, Of("unit", TimeUnit))))),
        (10, Of("INTEGER", new Shape("IntType", (1, I8("bitWidth")), (2, Bool("isSigned"))))),
        (11, Of("UNKNOWN", Empty("NullType"))), (12, Of("JSON", Empty("JsonType"))), (13, Of("BSON", Empty("BsonType"))),
        (14, Of("UUID", Empty("UUIDType"))), (15, Of("FLOAT16", Empty("Float16Type"))),
        (16, Of("VARIANT", new Shape("VariantType", (1, I8("specification_version"))))),
        (17, Of("GEOMETRY", new Shape("GeometryType", (1, Bin("crs"))))),
        (18, Of("GEOGRAPHY", new Shape("GeographyType", (1, Bin("crs")), (2, I32("algorithm"))))));

    /// <summary>The field of a schema element that counts its children; the tree they form is checked too.</summary>
    internal const short NumChildren = 5;

    internal static readonly Shape SchemaElement = new("SchemaElement",
        (1, I32("type")), (2, I32("type_length")), (3, I32("repetition_type")), (4, Bin("name")),
        (NumChildren, I32("num_children")), (6, I32("converted_type")), (7, I32("scale")), (8, I32("precision")),
        (9, I32("field_id")), (10, Of("logicalType", LogicalType)));

    private static readonly Shape KeyValue = new("KeyValue", (1, Bin("key")), (2, Bin("value")));

    private static readonly Shape PageEncodingStats = new("PageEncodingStats",
        (1, I32("page_type")), (2, I32("encoding")), (3, I32("count")));

    private static readonly Shape ColumnMetaData = new("ColumnMetaData",
        (1, I32("type")), (2, ListOf("encodings", I32("encoding"))), (3, ListOf("path_in_schema", Bin("name"))),
        (4, I32("codec")), (5, I64("num_values")), (6, I64("total_uncompressed_size")), (7, I64("total_compressed_size")),
        (8, ListOf("key_value_metadata", KeyValue)), (9, I64("data_page_offset")), (10, I64("index_page_offset")),
        (11, I64("dictionary_page_offset")), (12, Of("statistics", Statistics)),
        (13, ListOf("encoding_stats", PageEncodingStats)), (14, I64("bloom_filter_offset")), (15, I32("bloom_filter_length")),
        (16, Of("size_statistics", SizeStatistics)), (17, Of("geospatial_statistics", GeospatialStatistics)));

    private static readonly Shape ColumnCryptoMetaData = new("ColumnCryptoMetaData",
        (1, Of("ENCRYPTION_WITH_FOOTER_KEY", Empty("EncryptionWithFooterKey"))),
        (2, Of("ENCRYPTION_WITH_COLUMN_KEY", new Shape("EncryptionWithColumnKey",
            (1, ListOf("path_in_schema", Bin("name"))), (2, Bin("key_metadata"))))));

    private static readonly Shape ColumnChunk = new("ColumnChunk",
        (1, Bin("file_path")), (2, I64("file_offset")), (3, Of("meta_data", ColumnMetaData)), (4, I64("offset_index_offset")),
        (5, I32("offset_index_length")), (6, I64("column_index_offset")), (7, I32("column_index_length")),
        (8, Of("crypto_metadata", ColumnCryptoMetaData)), (9, Bin("encrypted_column_metadata")));

    private static readonly Shape SortingColumn = new("SortingColumn",
        (1, I32("column_idx")), (2, Bool("descending")), (3, Bool("nulls_first")));

    private static readonly Shape RowGroup = new("RowGroup",
        (1, ListOf("columns", ColumnChunk)), (2, I64("total_byte_size")), (3, I64("num_rows")),
        (4, ListOf("sorting_columns", SortingColumn)), (5, I64("file_offset")), (6, I64("total_compressed_size")),
        (7, I16("ordinal")));

    private static readonly Shape ColumnOrder = new("ColumnOrder", (1, Of("TYPE_ORDER", Empty("TypeDefinedOrder"))));

    private static Shape Aes(string name) => new(name, (1, Bin("aad_prefix")), (2, Bin("aad_file_unique")), (3, Bool("supply_aad_prefix")));

    private static readonly Shape EncryptionAlgorithm = new("EncryptionAlgorithm",
        (1, Of("AES_GCM_V1", Aes("AesGcmV1"))), (2, Of("AES_GCM_CTR_V1", Aes("AesGcmCtrV1"))));

    internal static readonly Field SchemaList = ListOf("schema", SchemaElement);

    /// <summary>The footer's root structure.</summary>
    internal static readonly Shape FileMetaData = new("FileMetaData",
        (1, I32("version")), (2, SchemaList), (3, I64("num_rows")), (4, ListOf("row_groups", RowGroup)),
        (5, ListOf("key_value_metadata", KeyValue)), (6, Bin("created_by")), (7, ListOf("column_orders", ColumnOrder)),
        (8, Of("encryption_algorithm", EncryptionAlgorithm)), (9, Bin("footer_signing_key_metadata")));
}
