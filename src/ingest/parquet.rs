//! One column of Parquet files decoded in the engine's thread pool (issue 21).
//!
//! A table given as a Parquet path is read one column at a time, when the work needs it.
//! Each (file, row group) of the column is decoded as its own task in the engine's pool, so
//! `RAYON_NUM_THREADS` bounds the decoding too, and text the caller wants coded is read
//! straight into dictionary arrays (each distinct value once). Anything this reader does
//! not give exactly as expected (another codec, another Arrow type) is an error the caller
//! answers by reading the column another way (the binding falls back to pyarrow).

use std::fs::File;
use std::path::PathBuf;
use std::sync::Arc;

use arrow_array::ArrayRef;
use arrow_schema::{DataType, Field, Schema};
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder,
};
use parquet::arrow::ProjectionMask;
use rayon::prelude::*;

/// Why a column was not read here.
#[derive(Debug, thiserror::Error)]
pub enum ParquetReadError {
    /// A file could not be opened or decoded, or lacks the column (or holds it nested).
    #[error("{path}: {message}")]
    File {
        /// The file.
        path: String,
        /// What went wrong.
        message: String,
    },
    /// The column decodes to another Arrow type than the one asked for.
    #[error("{path}: column {column} is {found}, expected {expected}")]
    Type {
        /// The first of the files.
        path: String,
        /// The column.
        column: String,
        /// The type decoded.
        found: DataType,
        /// The type asked for.
        expected: DataType,
    },
}

/// One Parquet file opened for reading: its Arrow-level metadata, with the column's type
/// hinted as `want` (dictionary codes for coded text).
struct OpenedFile {
    path: PathBuf,
    metadata: ArrowReaderMetadata,
    /// The column's index among the Parquet schema's leaf columns.
    leaf: usize,
    row_groups: usize,
}

fn file_error(path: &std::path::Path, error: impl std::fmt::Display) -> ParquetReadError {
    ParquetReadError::File {
        path: path.display().to_string(),
        message: error.to_string(),
    }
}

fn open(path: &PathBuf, column: &str, want: &DataType) -> Result<OpenedFile, ParquetReadError> {
    let file = File::open(path).map_err(|e| file_error(path, e))?;
    let plain = ArrowReaderMetadata::load(&file, ArrowReaderOptions::new())
        .map_err(|e| file_error(path, e))?;
    let schema = plain.schema();
    let Some((position, field)) = schema.column_with_name(column) else {
        return Err(file_error(path, format!("no column {column}")));
    };
    // Only flat columns: a nested one has several leaves (pyarrow reads those).
    if field.data_type().is_nested() {
        return Err(file_error(path, format!("{column} is nested")));
    }
    let leaf = plain
        .metadata()
        .file_metadata()
        .schema_descr()
        .columns()
        .iter()
        .position(|c| c.path().parts() == [column])
        .ok_or_else(|| file_error(path, format!("no leaf column {column}")))?;
    let metadata = if field.data_type() == want {
        plain
    } else {
        // Ask for the wanted type (dictionary codes for text); the reader refuses a hint
        // it cannot honour, and the caller then reads the column another way.
        let fields: Vec<Field> = schema
            .fields()
            .iter()
            .enumerate()
            .map(|(k, f)| {
                let f = f.as_ref().clone();
                if k == position {
                    f.with_data_type(want.clone())
                } else {
                    f
                }
            })
            .collect();
        let hinted = Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()));
        ArrowReaderMetadata::try_new(
            Arc::clone(plain.metadata()),
            ArrowReaderOptions::new().with_schema(hinted),
        )
        .map_err(|e| file_error(path, e))?
    };
    // A type the reader would decode differently is known from the schema alone: refuse
    // it before decoding, so the caller's other reader does not follow a wasted decode.
    let found = metadata.schema().field(position).data_type();
    if found != want {
        return Err(ParquetReadError::Type {
            path: path.display().to_string(),
            column: column.to_string(),
            found: found.clone(),
            expected: want.clone(),
        });
    }
    let row_groups = metadata.metadata().num_row_groups();
    Ok(OpenedFile {
        path: path.clone(),
        metadata,
        leaf,
        row_groups,
    })
}

/// Decodes one row group of one column.
fn read_row_group(file: &OpenedFile, row_group: usize) -> Result<Vec<ArrayRef>, ParquetReadError> {
    let path = &file.path;
    let handle = File::open(path).map_err(|e| file_error(path, e))?;
    let builder = ParquetRecordBatchReaderBuilder::new_with_metadata(handle, file.metadata.clone());
    let mask = ProjectionMask::leaves(builder.parquet_schema(), [file.leaf]);
    let rows = file.metadata.metadata().row_group(row_group).num_rows();
    let reader = builder
        .with_projection(mask)
        .with_row_groups(vec![row_group])
        // One batch per row group (the reader's batches are capped at this many rows).
        .with_batch_size(
            usize::try_from(rows)
                .unwrap_or(usize::MAX)
                .clamp(1, 1 << 22),
        )
        .build()
        .map_err(|e| file_error(path, e))?;
    let mut chunks = Vec::new();
    for batch in reader {
        let batch = batch.map_err(|e| file_error(path, e))?;
        chunks.extend(batch.columns().first().cloned());
    }
    Ok(chunks)
}

/// Column `column` of `files` (in that order, row groups in file order), each chunk of
/// type `want`: text may be asked for as `Dictionary(Int32, Utf8)`. Row groups decode in
/// parallel in the current thread pool.
pub fn read_parquet_column(
    files: &[PathBuf],
    column: &str,
    want: &DataType,
) -> Result<Vec<ArrayRef>, ParquetReadError> {
    let opened: Vec<OpenedFile> = files
        .par_iter()
        .map(|path| open(path, column, want))
        .collect::<Result<_, _>>()?;
    let tasks: Vec<(&OpenedFile, usize)> = opened
        .iter()
        .flat_map(|file| (0..file.row_groups).map(move |rg| (file, rg)))
        .collect();
    let parts: Vec<Vec<ArrayRef>> = tasks
        .par_iter()
        .map(|&(file, rg)| read_row_group(file, rg))
        .collect::<Result<_, _>>()?;
    let chunks: Vec<ArrayRef> = parts.into_iter().flatten().collect();
    if let Some(chunk) = chunks.iter().find(|c| c.data_type() != want) {
        return Err(ParquetReadError::Type {
            path: files
                .first()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            column: column.to_string(),
            found: chunk.data_type().clone(),
            expected: want.clone(),
        });
    }
    Ok(chunks)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::types::Int32Type;
    use arrow_array::{
        Array, BooleanArray, DictionaryArray, Float64Array, Int64Array, RecordBatch, StringArray,
        TimestampMicrosecondArray,
    };
    use parquet::arrow::ArrowWriter;
    use parquet::basic::{Compression, ZstdLevel};
    use parquet::file::properties::WriterProperties;

    fn batch(offset: i64, n: i64) -> RecordBatch {
        let ids = Int64Array::from_iter_values(offset..offset + n);
        let times = TimestampMicrosecondArray::from_iter(
            (offset..offset + n).map(|i| (i % 7 != 3).then_some(1_700_000_000_000_000 + i)),
        )
        .with_timezone("UTC");
        let text = StringArray::from_iter((offset..offset + n).map(|i| match i % 5 {
            0 => None,
            k => Some(["", "chat", "email", "phone"][k as usize - 1]),
        }));
        let flags = BooleanArray::from_iter(
            (offset..offset + n).map(|i| (i % 3 != 0).then_some(i % 2 == 0)),
        );
        let values = Float64Array::from_iter(
            (offset..offset + n).map(|i| (i % 4 != 0).then_some(i as f64 / 8.0)),
        );
        RecordBatch::try_from_iter([
            ("id", Arc::new(ids) as ArrayRef),
            ("at", Arc::new(times) as ArrayRef),
            ("channel", Arc::new(text) as ArrayRef),
            ("flag", Arc::new(flags) as ArrayRef),
            ("value", Arc::new(values) as ArrayRef),
        ])
        .expect("batch")
    }

    /// Writes rows offset..offset + n as a file of row groups of `group` rows.
    fn write(path: &std::path::Path, offset: i64, n: i64, group: usize, codec: Compression) {
        let file = File::create(path).expect("create");
        let props = WriterProperties::builder()
            .set_max_row_group_row_count(Some(group))
            .set_compression(codec)
            .build();
        let whole = batch(offset, n);
        let mut writer = ArrowWriter::try_new(file, whole.schema(), Some(props)).expect("writer");
        writer.write(&whole).expect("write");
        writer.close().expect("close");
    }

    fn concat(chunks: &[ArrayRef]) -> ArrayRef {
        let refs: Vec<&dyn Array> = chunks.iter().map(|c| c.as_ref()).collect();
        arrow_select::concat::concat(&refs).expect("concat")
    }

    #[test]
    fn columns_of_several_files_and_row_groups_read_back_in_order() {
        let dir = std::env::temp_dir().join(format!("supportkpi-parquet-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let files = vec![dir.join("a.parquet"), dir.join("b.parquet")];
        write(&files[0], 0, 2500, 700, Compression::SNAPPY);
        write(
            &files[1],
            2500,
            1300,
            400,
            Compression::ZSTD(ZstdLevel::default()),
        );
        let whole = batch(0, 3800);
        for (name, column) in whole.schema().fields().iter().zip(whole.columns()) {
            let chunks = read_parquet_column(&files, name.name(), name.data_type()).expect("read");
            assert!(
                chunks.len() >= 2 + 4,
                "{}: one chunk per row group",
                name.name()
            );
            assert_eq!(&concat(&chunks), column, "{}", name.name());
        }
        // Text as dictionary codes: the same values, each distinct one once per chunk.
        let coded = DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8));
        let chunks = read_parquet_column(&files, "channel", &coded).expect("coded");
        let decoded: Vec<Option<String>> = chunks
            .iter()
            .flat_map(|c| {
                let dict = c
                    .as_any()
                    .downcast_ref::<DictionaryArray<Int32Type>>()
                    .expect("dictionary");
                let values = dict
                    .values()
                    .as_any()
                    .downcast_ref::<StringArray>()
                    .expect("text");
                assert!(values.len() <= 4);
                dict.keys()
                    .iter()
                    .map(|k| k.map(|k| values.value(k as usize).to_string()))
                    .collect::<Vec<_>>()
            })
            .collect();
        let plain = whole.column_by_name("channel").expect("channel");
        let plain = plain.as_any().downcast_ref::<StringArray>().expect("text");
        let want: Vec<Option<String>> = plain.iter().map(|v| v.map(str::to_string)).collect();
        assert_eq!(decoded, want);
        std::fs::remove_dir_all(&dir).expect("clean up");
    }

    #[test]
    fn what_it_cannot_give_as_asked_is_an_error_not_a_guess() {
        let dir = std::env::temp_dir().join(format!("supportkpi-parquet-e{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let files = vec![dir.join("a.parquet")];
        write(&files[0], 0, 100, 50, Compression::UNCOMPRESSED);
        // A type the file does not hold (the binding reads such a column with pyarrow).
        assert!(read_parquet_column(&files, "id", &DataType::Utf8).is_err());
        assert!(read_parquet_column(&files, "missing", &DataType::Int64).is_err());
        assert!(read_parquet_column(&[dir.join("none.parquet")], "id", &DataType::Int64).is_err());
        std::fs::write(dir.join("bad.parquet"), b"not parquet").expect("write");
        assert!(read_parquet_column(&[dir.join("bad.parquet")], "id", &DataType::Int64).is_err());
        std::fs::remove_dir_all(&dir).expect("clean up");
    }
}
