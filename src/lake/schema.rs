//! Column types shared by module schemas, OEA metadata and Delta tables.

use deltalake::kernel::{DataType as DeltaType, PrimitiveType, StructField, StructType};
use polars::prelude::DataType;
use serde::{Deserialize, Serialize};

/// A column type as OEA `metadata.csv` names it (Spark SQL primitive types).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ColType {
    String,
    Integer,
    Short,
    Long,
    Double,
    Float,
    Boolean,
    Date,
    Timestamp,
}

impl ColType {
    /// Parses an OEA attribute data type (case-insensitive, with Spark's aliases).
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "string" | "str" | "varchar" => Self::String,
            "integer" | "int" => Self::Integer,
            "short" | "smallint" => Self::Short,
            "long" | "bigint" => Self::Long,
            "double" => Self::Double,
            "float" | "real" => Self::Float,
            "boolean" | "bool" => Self::Boolean,
            "date" => Self::Date,
            "timestamp" | "datetime" => Self::Timestamp,
            _ => return None,
        })
    }

    /// The name OEA and Spark use for this type.
    pub fn name(self) -> &'static str {
        match self {
            Self::String => "string",
            Self::Integer => "integer",
            Self::Short => "short",
            Self::Long => "long",
            Self::Double => "double",
            Self::Float => "float",
            Self::Boolean => "boolean",
            Self::Date => "date",
            Self::Timestamp => "timestamp",
        }
    }

    /// The polars dtype used in memory and in Parquet files.
    pub fn polars(self) -> DataType {
        match self {
            Self::String => DataType::String,
            Self::Integer => DataType::Int32,
            Self::Short => DataType::Int16,
            Self::Long => DataType::Int64,
            Self::Double => DataType::Float64,
            Self::Float => DataType::Float32,
            Self::Boolean => DataType::Boolean,
            Self::Date => DataType::Date,
            Self::Timestamp => {
                DataType::Datetime(polars::prelude::TimeUnit::Microseconds, Some(utc()))
            }
        }
    }

    /// The Delta Lake primitive type name (protocol spelling).
    pub fn delta_name(self) -> &'static str {
        self.name()
    }

    /// The Delta primitive type of this column.
    pub fn delta_type(self) -> PrimitiveType {
        match self {
            ColType::String => PrimitiveType::String,
            ColType::Integer => PrimitiveType::Integer,
            ColType::Short => PrimitiveType::Short,
            ColType::Long => PrimitiveType::Long,
            ColType::Double => PrimitiveType::Double,
            ColType::Float => PrimitiveType::Float,
            ColType::Boolean => PrimitiveType::Boolean,
            ColType::Date => PrimitiveType::Date,
            ColType::Timestamp => PrimitiveType::Timestamp,
        }
    }

    /// The column type of a Delta type; types edlake does not write (nested, decimal, binary)
    /// are previewed as text.
    pub fn of_delta(t: &DeltaType) -> ColType {
        match t {
            DeltaType::Primitive(p) => match p {
                PrimitiveType::Integer => ColType::Integer,
                PrimitiveType::Short => ColType::Short,
                PrimitiveType::Long => ColType::Long,
                PrimitiveType::Double => ColType::Double,
                PrimitiveType::Float => ColType::Float,
                PrimitiveType::Boolean => ColType::Boolean,
                PrimitiveType::Date => ColType::Date,
                PrimitiveType::Timestamp => ColType::Timestamp,
                _ => ColType::String,
            },
            _ => ColType::String,
        }
    }
}

fn utc() -> polars::prelude::TimeZone {
    polars::prelude::TimeZone::UTC
}

/// One column of a table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Column {
    pub name: String,
    pub ty: ColType,
}

impl Column {
    /// A nullable column.
    pub fn new(name: impl Into<String>, ty: ColType) -> Self {
        Self {
            name: name.into(),
            ty,
        }
    }
}

/// An ordered list of columns plus the partition columns (which Delta keeps out of the data files).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TableSchema {
    pub columns: Vec<Column>,
    pub partition_by: Vec<String>,
}

impl TableSchema {
    /// The Delta schema of the table (every column nullable: a source may leave any value out).
    pub fn to_delta(&self) -> deltalake::DeltaResult<StructType> {
        Ok(StructType::try_new(self.columns.iter().map(|c| {
            StructField::nullable(&c.name, c.ty.delta_type())
        }))?)
    }

    /// The schema of a Delta table, with its partition columns.
    pub fn from_delta(schema: &StructType, partition_by: Vec<String>) -> TableSchema {
        TableSchema {
            columns: schema
                .fields()
                .map(|f| Column::new(f.name(), ColType::of_delta(f.data_type())))
                .collect(),
            partition_by,
        }
    }

    /// Builds a schema from columns with no partitioning.
    pub fn new(columns: Vec<Column>) -> Self {
        Self {
            columns,
            partition_by: Vec::new(),
        }
    }

    /// Sets the partition columns (they must be among `columns`).
    pub fn partitioned(mut self, by: &[&str]) -> Self {
        self.partition_by = by.iter().map(|s| s.to_string()).collect();
        self
    }

    /// Finds a column by name.
    pub fn get(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// Columns stored inside the Parquet files (all but the partition columns).
    pub fn data_columns(&self) -> impl Iterator<Item = &Column> {
        self.columns
            .iter()
            .filter(|c| !self.partition_by.contains(&c.name))
    }

    /// Adds columns that are not there yet (schema evolution keeps old columns, appends new).
    pub fn merged_with(&self, other: &TableSchema) -> TableSchema {
        let mut out = self.clone();
        for c in &other.columns {
            if out.get(&c.name).is_none() {
                out.columns.push(c.clone());
            }
        }
        out
    }
}

/// The table schema of a frame (types mapped back to OEA names).
pub fn schema_of(df: &polars::prelude::DataFrame, partition_by: &[String]) -> TableSchema {
    let columns = df
        .columns()
        .iter()
        .map(|c| {
            let ty = match c.dtype() {
                DataType::Int16 => ColType::Short,
                DataType::Int32 => ColType::Integer,
                DataType::Int64 => ColType::Long,
                DataType::Float32 => ColType::Float,
                DataType::Float64 => ColType::Double,
                DataType::Boolean => ColType::Boolean,
                DataType::Date => ColType::Date,
                DataType::Datetime(_, _) => ColType::Timestamp,
                _ => ColType::String,
            };
            Column::new(c.name().as_str(), ty)
        })
        .collect();
    TableSchema {
        columns,
        partition_by: partition_by.to_vec(),
    }
}

/// Fixes a column name the way OEA does for Parquet (`[ ,;{}()\n\t=]+` becomes `_`).
pub fn fix_column_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut in_run = false;
    for ch in name.chars() {
        if matches!(
            ch,
            ' ' | ',' | ';' | '{' | '}' | '(' | ')' | '\n' | '\t' | '='
        ) {
            if !in_run {
                out.push('_');
            }
            in_run = true;
        } else {
            out.push(ch);
            in_run = false;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixes_names_like_oea() {
        assert_eq!(fix_column_name("SIS ID"), "SIS_ID");
        assert_eq!(fix_column_name("a, b=(c)"), "a_b_c_");
        assert_eq!(fix_column_name("plain"), "plain");
        assert_eq!(fix_column_name("tab\t\tsep"), "tab_sep");
    }

    #[test]
    fn parses_types_and_aliases() {
        assert_eq!(ColType::parse("Integer"), Some(ColType::Integer));
        assert_eq!(ColType::parse(" short "), Some(ColType::Short));
        assert_eq!(ColType::parse("bigint"), Some(ColType::Long));
        assert_eq!(ColType::parse("blob"), None);
    }

    #[test]
    fn delta_schemas_round_trip_through_delta_rs_types() {
        let all = [
            ColType::String,
            ColType::Integer,
            ColType::Short,
            ColType::Long,
            ColType::Double,
            ColType::Float,
            ColType::Boolean,
            ColType::Date,
            ColType::Timestamp,
        ];
        let schema = TableSchema {
            columns: all
                .iter()
                .enumerate()
                .map(|(i, t)| Column::new(format!("c{i}"), *t))
                .collect(),
            partition_by: vec!["c0".into()],
        };
        let delta = schema.to_delta().unwrap();
        assert!(delta.fields().all(|f| f.is_nullable()));
        assert_eq!(TableSchema::from_delta(&delta, vec!["c0".into()]), schema);
        // A type edlake does not write reads as text.
        let foreign =
            StructType::try_new([StructField::nullable("b", PrimitiveType::Binary)]).unwrap();
        assert_eq!(
            TableSchema::from_delta(&foreign, vec![]).columns[0].ty,
            ColType::String
        );
    }
}
