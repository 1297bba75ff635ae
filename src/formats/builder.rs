//! Column builders: typed values from the CSV reader into polars arrays.

use polars::prelude::*;

use super::values::Value;
use crate::lake::schema::ColType;

/// Appends parsed values of one column into a polars array.
pub(super) enum Builder {
    Str(StringChunkedBuilder),
    I16(PrimitiveChunkedBuilder<Int16Type>),
    I32(PrimitiveChunkedBuilder<Int32Type>),
    I64(PrimitiveChunkedBuilder<Int64Type>),
    F32(PrimitiveChunkedBuilder<Float32Type>),
    F64(PrimitiveChunkedBuilder<Float64Type>),
    Bool(BooleanChunkedBuilder),
    Date(PrimitiveChunkedBuilder<Int32Type>),
    Ts(PrimitiveChunkedBuilder<Int64Type>),
}

impl Builder {
    pub(super) fn new(name: &str, ty: ColType, cap: usize) -> Self {
        let n: PlSmallStr = name.into();
        match ty {
            ColType::String => Builder::Str(StringChunkedBuilder::new(n, cap)),
            ColType::Short => Builder::I16(PrimitiveChunkedBuilder::new(n, cap)),
            ColType::Integer => Builder::I32(PrimitiveChunkedBuilder::new(n, cap)),
            ColType::Long => Builder::I64(PrimitiveChunkedBuilder::new(n, cap)),
            ColType::Float => Builder::F32(PrimitiveChunkedBuilder::new(n, cap)),
            ColType::Double => Builder::F64(PrimitiveChunkedBuilder::new(n, cap)),
            ColType::Boolean => Builder::Bool(BooleanChunkedBuilder::new(n, cap)),
            ColType::Date => Builder::Date(PrimitiveChunkedBuilder::new(n, cap)),
            ColType::Timestamp => Builder::Ts(PrimitiveChunkedBuilder::new(n, cap)),
        }
    }

    /// Appends a value that [`parse_field`] accepted for this column's type.
    pub(super) fn push(&mut self, v: Value, text: &str) {
        match (self, v) {
            (Builder::Str(b), Value::Text) => b.append_value(text.trim()),
            (Builder::Str(b), _) => b.append_null(),
            (Builder::I16(b), Value::Int(x)) => b.append_value(x as i16),
            (Builder::I32(b), Value::Int(x)) => b.append_value(x as i32),
            (Builder::I64(b), Value::Int(x)) => b.append_value(x),
            (Builder::F32(b), Value::Float(x)) => b.append_value(x as f32),
            (Builder::F64(b), Value::Float(x)) => b.append_value(x),
            (Builder::Bool(b), Value::Bool(x)) => b.append_value(x),
            (Builder::Date(b), Value::Date(x)) => b.append_value(x),
            (Builder::Ts(b), Value::Timestamp(x)) => b.append_value(x),
            (Builder::I16(b), _) => b.append_null(),
            (Builder::I32(b), _) => b.append_null(),
            (Builder::I64(b), _) => b.append_null(),
            (Builder::F32(b), _) => b.append_null(),
            (Builder::F64(b), _) => b.append_null(),
            (Builder::Bool(b), _) => b.append_null(),
            (Builder::Date(b), _) => b.append_null(),
            (Builder::Ts(b), _) => b.append_null(),
        }
    }

    pub(super) fn finish(self, ty: ColType) -> PolarsResult<Series> {
        let s = match self {
            Builder::Str(b) => b.finish().into_series(),
            Builder::I16(b) => b.finish().into_series(),
            Builder::I32(b) => b.finish().into_series(),
            Builder::I64(b) => b.finish().into_series(),
            Builder::F32(b) => b.finish().into_series(),
            Builder::F64(b) => b.finish().into_series(),
            Builder::Bool(b) => b.finish().into_series(),
            Builder::Date(b) => b.finish().into_series(),
            Builder::Ts(b) => b.finish().into_series(),
        };
        if s.dtype() == &ty.polars() {
            Ok(s)
        } else {
            s.cast(&ty.polars())
        }
    }
}

/// A column holding the same text (or null) in every row, without materializing it.
pub fn text_column(name: &str, value: Option<&str>, n: usize) -> Column {
    let scalar = match value {
        Some(v) => Scalar::new(DataType::String, AnyValue::StringOwned(v.into())),
        None => Scalar::null(DataType::String),
    };
    Column::new_scalar(name.into(), scalar, n)
}
