//! A text column's Parquet dictionary built from its string views when its rows share them.
//!
//! polars builds a dictionary by hashing every row's text. A column whose rows are few values
//! repeated mostly shares views already — a constant column broadcast from one value, or text
//! read back from a Parquet dictionary, as stage3 reads the general tables — so rows are told
//! apart by their 16-byte view, and only each distinct view's text is looked at.

use foldhash::HashMap;
use foldhash::HashMapExt;
use polars_arrow::array::{Array, DictionaryArray, PrimitiveArray, Utf8ViewArray};
use polars_arrow::datatypes::{ArrowDataType, IntegerType};

/// Distinct views after which a column is left to polars: its rows do not share their views.
const VIEW_LIMIT: usize = 1024;

/// `array` (UTF-8 views) as a dictionary array with the values in the order rows first use
/// them, as polars builds it; `None` when it is not UTF-8 views or has more than
/// [`VIEW_LIMIT`] distinct views.
pub(super) fn by_views(array: &dyn Array) -> Option<Box<dyn Array>> {
    let arr = array.as_any().downcast_ref::<Utf8ViewArray>()?;
    let views = arr.views();
    let mut memo: HashMap<u128, u32> = HashMap::with_capacity(64);
    // Each distinct view's first row; two views can hold the same text (different places in
    // the buffers), so they are merged by text below.
    let mut firsts: Vec<usize> = Vec::new();
    let mut keys: Vec<u32> = Vec::with_capacity(arr.len());
    for (i, view) in views.iter().enumerate() {
        if arr.is_null(i) {
            keys.push(0);
            continue;
        }
        let next = memo.len() as u32;
        let k = *memo.entry(view.as_u128()).or_insert(next);
        if k == next {
            if firsts.len() == VIEW_LIMIT {
                return None;
            }
            firsts.push(i);
        }
        keys.push(k);
    }
    let mut by_text: HashMap<&str, u32> = HashMap::with_capacity(firsts.len());
    let mut values: Vec<&str> = Vec::with_capacity(firsts.len());
    let mut merged: Vec<u32> = Vec::with_capacity(firsts.len());
    for &i in &firsts {
        let text = arr.value(i);
        let next = values.len() as u32;
        let k = *by_text.entry(text).or_insert(next);
        if k == next {
            values.push(text);
        }
        merged.push(k);
    }
    if values.len() < firsts.len() {
        for k in keys.iter_mut() {
            *k = merged[*k as usize];
        }
    }
    let keys = PrimitiveArray::new(ArrowDataType::UInt32, keys.into(), arr.validity().cloned());
    let values = Utf8ViewArray::from_slice_values(values).boxed();
    let dtype =
        ArrowDataType::Dictionary(IntegerType::UInt32, Box::new(array.dtype().clone()), false);
    DictionaryArray::try_new(dtype, keys, values)
        .ok()
        .map(|d| d.boxed())
}

#[cfg(test)]
mod tests {
    use super::*;
    use polars_arrow::array::MutableBinaryViewArray;

    fn texts(d: &dyn Array) -> Vec<Option<String>> {
        let d = d.as_any().downcast_ref::<DictionaryArray<u32>>().unwrap();
        let values = d.values().as_any().downcast_ref::<Utf8ViewArray>().unwrap();
        (d.keys().iter())
            .map(|k| k.map(|k| values.value(*k as usize).to_string()))
            .collect()
    }

    #[test]
    fn shared_and_unshared_views_give_the_same_values_in_first_use_order() {
        // Long values pushed row by row (each its own place in the buffers), short ones inline,
        // and nulls.
        let rows = [
            Some("Brookfield Middle School"),
            None,
            Some("Lincoln High School North"),
            Some("Brookfield Middle School"),
            Some("ok"),
            None,
            Some("ok"),
            Some("Lincoln High School North"),
        ];
        let arr: Utf8ViewArray = MutableBinaryViewArray::<str>::from_iter(rows).into();
        let d = by_views(&arr).unwrap();
        let want: Vec<Option<String>> = rows.iter().map(|r| r.map(str::to_string)).collect();
        assert_eq!(texts(d.as_ref()), want);
        let dict = d.as_any().downcast_ref::<DictionaryArray<u32>>().unwrap();
        let values = dict
            .values()
            .as_any()
            .downcast_ref::<Utf8ViewArray>()
            .unwrap();
        let distinct: Vec<&str> = values.values_iter().collect();
        assert_eq!(
            distinct,
            [
                "Brookfield Middle School",
                "Lincoln High School North",
                "ok"
            ]
        );
        assert_eq!(dict.keys().null_count(), 2);
        // Too many distinct views: left to polars.
        let many: Utf8ViewArray = MutableBinaryViewArray::<str>::from_iter(
            (0..VIEW_LIMIT + 1).map(|i| Some(format!("value number {i:08}"))),
        )
        .into();
        assert!(by_views(&many).is_none());
    }
}
