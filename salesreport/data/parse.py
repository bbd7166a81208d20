"""Parse raw columns (text from CSV, typed values from Parquet/Excel/SQL) into the contract's dtypes.

Every parser returns the parsed values and an ``invalid`` mask: ``True`` where
a value was given (not blank) but cannot be read. Blank values (empty or only
spaces) are missing and never invalid.

Accepted forms:

* dates and timestamps: ISO 8601 (``2026-10-31``, ``2026-10-31 14:22``,
  ``2026-10-31T14:22:05Z``), Excel serial day numbers (``46000``), Unix
  seconds or milliseconds (HubSpot), Parquet/Excel date cells. Values with a
  zone (``Z``, ``+02:00``) and Unix times (UTC) are converted to the team's zone
  and made naive; values without a zone are taken as already local. Date
  columns are then cut to midnight of the local date;
* numbers: ``1234.5``, ``-3``, ``1e3``, thousands separators ``1,234.50``,
  ``1 234.50`` or ``1'234.50``, a leading or trailing currency symbol, a trailing
  ``%`` (divided by 100);
* booleans: ``TRUE/FALSE``, ``true/false``, ``t/f``, ``yes/no``, ``1/0``;
* periods: ``2026-10``, ``2026-Q4``, ``2026`` (a date is cut to its month).

Every parser takes ``object`` columns (CSV: ``str``/``None``; Parquet, Excel and SQL cells as
stored) and Arrow-backed text columns (``pd.ArrowDtype(pa.string())``, how the loader reads
Parquet text) alike: an Arrow column gives exactly the result of the same values as ``object``
(:func:`as_objects`). Arrow columns are parsed per distinct value (dictionary encoding) or with
Arrow compute where the parser has such a path, else converted to ``object`` first. Plain text
columns stay Arrow-backed (:func:`to_text` returns them unchanged when no value is blank or
padded).
"""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pandas.api.types import (
    is_bool_dtype,
    is_datetime64_any_dtype,
    is_numeric_dtype,
    is_object_dtype,
    is_string_dtype,
)

EXCEL_EPOCH = pd.Timestamp("1899-12-30")
_ZONED = re.compile(r"\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?\s*(?:[zZ]|[+-]\d{2}(?::?\d{2})?)$")
_THOUSANDS = re.compile(r"^[+-]?\d{1,3}([,' ]\d{3})+(\.\d*)?$")
_CURRENCY_SYMBOLS = r"^[\$€£¥]\s*|\s*[\$€£¥]$"
TRUE_WORDS = frozenset({"true", "t", "yes", "y", "1", "1.0"})
FALSE_WORDS = frozenset({"false", "f", "no", "n", "0", "0.0"})
PERIOD_RE = re.compile(r"^\d{4}(-(0[1-9]|1[0-2])|-Q[1-4])?$")
MONTH_RE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


def _isstr(v: object) -> bool:
    return isinstance(v, str)


def is_arrow_text(s: pd.Series) -> bool:
    """``True`` for an Arrow-backed text column (``ArrowDtype(pa.string())``, as read from Parquet)."""
    dtype = s.dtype
    return isinstance(dtype, pd.ArrowDtype) and (
        pa.types.is_string(dtype.pyarrow_dtype) or pa.types.is_large_string(dtype.pyarrow_dtype)
    )


def as_objects(s: pd.Series) -> pd.Series:
    """An Arrow-backed text column as ``object`` holding ``str`` or ``None``; others unchanged.

    The same values ``pandas.read_parquet`` gives a Parquet text column, so every parser
    reads an Arrow column exactly as it reads that one.
    """
    if not is_arrow_text(s):
        return s
    arr = _arrow(s)
    values = None
    if len(arr) >= _PER_VALUE_MIN_ROWS:
        # repeated values (regions, stages, owners) share one Python string each
        probe = arr.take(np.arange(0, len(arr), max(1, len(arr) // _PER_VALUE_MIN_ROWS)))
        if pc.count_distinct(probe, mode="all").as_py() <= 0.5 * len(probe):
            enc = pc.dictionary_encode(arr)
            uniques = np.empty(len(enc.dictionary) + 1, dtype=object)
            uniques[:-1] = enc.dictionary.to_numpy(zero_copy_only=False)
            uniques[-1] = None
            codes = enc.indices.fill_null(len(enc.dictionary)).to_numpy(zero_copy_only=False)
            values = uniques[codes]
    if values is None:
        values = arr.to_numpy(zero_copy_only=False)
    return pd.Series(values, index=s.index, name=s.name, dtype=object)


def objects_frame(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with every Arrow-backed text column turned into ``object`` (:func:`as_objects`)."""
    arrow = [c for c in df.columns if is_arrow_text(df[c])]
    if not arrow:
        return df
    out = df.copy(deep=False)
    for c in arrow:
        out[c] = as_objects(df[c])
    return out


def key_values(values: pd.Series) -> set | pa.Array:
    """The distinct non-missing values of a key column, for :func:`in_keys`.

    An Arrow-backed column gives an Arrow array (no Python strings); any other a ``set``.
    """
    if is_arrow_text(values):
        return pc.unique(_arrow(values)).drop_null()
    return set(values.dropna())


def in_keys(values: pd.Series, keys: set | pa.Array) -> np.ndarray:
    """``values.isin(keys)`` as a bool array, by Arrow's hash join when ``keys`` is Arrow.

    Text compares as text either way; missing values are never in ``keys``. A column that
    is not all text (or ``keys`` given as a ``set``) takes pandas' ``isin``.
    """
    if isinstance(keys, pa.Array | pa.ChunkedArray):
        if is_arrow_text(values):
            arr = _arrow(values)
        else:
            try:
                arr = pa.array(values.to_numpy(dtype=object, na_value=None), type=keys.type)
            except (pa.ArrowInvalid, pa.ArrowTypeError):
                return values.isin(set(keys.to_pylist())).to_numpy(dtype=bool)
        return pc.is_in(arr, value_set=keys).fill_null(False).to_numpy(zero_copy_only=False)
    return np.asarray(values.isin(keys), dtype=bool)


def _arrow(s: pd.Series) -> pa.Array:
    """The Arrow array (one chunk) behind an Arrow-backed column."""
    arr = pa.array(s.array)
    return arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr


def _all_text(s: pd.Series) -> bool:
    """``True`` when every non-missing value is a ``str`` (CSV columns): the fast paths apply."""
    if is_arrow_text(s):
        return True
    return (is_object_dtype(s) or is_string_dtype(s)) and pd.api.types.infer_dtype(
        s, skipna=True
    ) in ("string", "empty")


# A column of text with many repeated values (dates, categories, amounts) is parsed once per
# distinct value and the results are spread back: every parser here is element-wise, so the
# result is the same. Only for all-text columns: distinct strings are distinct values (an object
# column mixing 1, 1.0 and True would merge them in a hash table).
_PER_VALUE_MIN_ROWS = 2_000
# a column of (nearly) distinct dates/times longer than this is parsed in slices of it: the
# parse makes several temporary arrays of the column's length (Python strings among them)
_CHUNK_ROWS = 500_000
_PER_VALUE_MAX_SHARE = 0.5


def _per_value(s: pd.Series, parse) -> tuple[pd.Series, ...] | None:
    """``parse(s)`` computed on the distinct values of an all-text ``s``; ``None`` when not worth it.

    ``parse`` maps a Series to a tuple of Series aligned with it. Missing values (``None`` or
    NaN) go through ``parse`` as one ``None``.
    """
    if len(s) < _PER_VALUE_MIN_ROWS or not _all_text(s):
        return None
    if is_arrow_text(s):  # the same decisions and distinct values, without Python strings
        arr = _arrow(s)
        probe = arr.take(np.arange(0, len(arr), max(1, len(arr) // _PER_VALUE_MIN_ROWS)))
        if pc.count_distinct(probe, mode="all").as_py() > 0.9 * len(probe):
            return None
        enc = pc.dictionary_encode(arr)
        if len(enc.dictionary) > _PER_VALUE_MAX_SHARE * len(s):
            return None
        uniques = enc.dictionary.to_numpy(zero_copy_only=False)
        codes = enc.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.intp)
    else:
        values = s.to_numpy(dtype=object, na_value=None)
        probe = values[:: max(1, len(values) // _PER_VALUE_MIN_ROWS)]
        if len(pd.unique(probe)) > 0.9 * len(probe):  # (nearly) all distinct: IDs, timestamps
            return None
        codes, uniques = pd.factorize(values)
        if len(uniques) > _PER_VALUE_MAX_SHARE * len(s):
            return None
    values = np.empty(len(uniques) + 1, dtype=object)
    values[: len(uniques)] = uniques
    values[-1] = None
    codes = np.where(codes < 0, len(uniques), codes)
    parsed = parse(pd.Series(values, dtype=object, name=s.name))
    return tuple(
        pd.Series(r.to_numpy()[codes], index=s.index, dtype=r.dtype, name=r.name) for r in parsed
    )


def to_text(s: pd.Series) -> pd.Series:
    """Values as stripped text, ``None`` where blank or missing.

    Whole numbers stored as floats (``123.0`` from Excel) become ``"123"``;
    dates become ISO text.
    """
    if is_arrow_text(s) and not _any_needs_strip(s):
        # plain text stays Arrow (checked for blank or padded values, per distinct value
        # where repeated): no ``object`` column of the whole file, which the per-value path
        # would spread its strings into
        return s
    fast = _per_value(s, lambda u: (_to_text(u),))
    return fast[0] if fast is not None else _to_text(s)


def _arrow_to_text(s: pd.Series) -> pd.Series:
    """:func:`_to_text` of an Arrow-backed column: itself (still Arrow) when no value is blank
    or has surrounding spaces, else the ``object`` result of the general path."""
    if _any_needs_strip(s):
        return _to_text(as_objects(s))
    return s


# every character ``str.isspace`` accepts (what ``str.strip()`` removes), for RE2
_SPACE_CLASS = (
    r"[\t\n\x0b\x0c\r\x1c-\x1f \x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}"
    r"\x{202f}\x{205f}\x{3000}]"
)
_NEEDS_STRIP = rf"^$|^{_SPACE_CLASS}|{_SPACE_CLASS}$"


#: the one-byte (ASCII) characters of ``_SPACE_CLASS``, by byte value
_ASCII_SPACE = np.zeros(256, dtype=bool)
_ASCII_SPACE[[0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x1C, 0x1D, 0x1E, 0x1F, 0x20]] = True


def _any_needs_strip(s: pd.Series) -> bool:
    """Whether a value of an Arrow-backed text column is blank or has surrounding spaces
    (missing values do not): :func:`needs_strip` of its Arrow array."""
    return bool(needs_strip(_arrow(s)).any())


def needs_strip(arr: pa.Array) -> np.ndarray:
    """Per value of an Arrow string array: ``True`` when it is blank or starts or ends with a
    character ``str.strip()`` removes (``_NEEDS_STRIP``); ``False`` when missing.

    Read from the bytes in place: a value whose first and last bytes are ASCII needs
    stripping exactly when it is empty or one of those bytes is an ASCII space character
    (UTF-8 writes every other character with bytes >= 0x80); only the values starting or
    ending with another character are matched with the regular expression.
    """
    if pa.types.is_large_string(arr.type):
        off_type = np.int64
    elif pa.types.is_string(arr.type):
        off_type = np.int32
    else:
        return (
            pc.match_substring_regex(arr, _NEEDS_STRIP)
            .fill_null(False)
            .to_numpy(zero_copy_only=False)
        )
    n = len(arr)
    buffers = arr.buffers()
    offsets = np.frombuffer(buffers[1], dtype=off_type)[arr.offset : arr.offset + n + 1]
    data = buffers[2]
    data = np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, np.uint8)
    start, stop = offsets[:-1], offsets[1:]
    if not len(data):  # every value empty (or missing)
        return arr.is_valid().to_numpy(zero_copy_only=False)
    # an empty value reads a neighbour's byte here: it needs stripping whatever that is
    first = data[np.minimum(start, len(data) - 1)]
    last = data[np.maximum(stop - 1, 0)]
    out = (stop <= start) | _ASCII_SPACE[first] | _ASCII_SPACE[last]
    unsure = np.flatnonzero(~out & ((first >= 0x80) | (last >= 0x80)))
    if len(unsure):
        matched = pc.match_substring_regex(arr.take(pa.array(unsure)), _NEEDS_STRIP)
        out[unsure] = matched.fill_null(False).to_numpy(zero_copy_only=False)
    if arr.null_count:
        out &= arr.is_valid().to_numpy(zero_copy_only=False)
    return out


def _to_text(s: pd.Series) -> pd.Series:
    if is_arrow_text(s):
        return _arrow_to_text(s)
    if _all_text(s):
        if len(s) >= _PER_VALUE_MIN_ROWS:
            # only values that are empty or start/end with a space need Python's strip
            values = s.to_numpy(dtype=object, na_value=None)
            arr = pa.array(values, type=pa.string(), from_pandas=True)
            odd = pc.match_substring_regex(arr, _NEEDS_STRIP).fill_null(False)
            odd = odd.to_numpy(zero_copy_only=False)
            if odd.any():
                stripped = [v.strip() for v in values[odd]]
                values[odd] = [v if v else None for v in stripped]
            return pd.Series(values, index=s.index, dtype=object, name=s.name)
        t = s.astype(object).str.strip()
        return t.where(t.notna() & (t != ""), None).astype(object)
    if is_string_dtype(s) or is_object_dtype(s):

        def one(v: object) -> str | None:
            if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NaT:
                return None
            if isinstance(v, str):
                v = v.strip()
                return v or None
            if isinstance(v, bool | np.bool_):
                return "true" if v else "false"
            if isinstance(v, float | np.floating) and float(v).is_integer():
                return str(int(v))
            if isinstance(v, pd.Timestamp | dt.datetime):
                ts = pd.Timestamp(v)
                return ts.date().isoformat() if ts == ts.normalize() else ts.isoformat()
            if isinstance(v, dt.date):
                return v.isoformat()
            text = str(v).strip()
            return text or None

        out = s.map(one)
        return out.astype(object).where(out.notna(), None)
    if is_datetime64_any_dtype(s):
        return _to_text(s.astype(object))
    if is_bool_dtype(s):
        return _to_text(s.astype(object))
    if is_numeric_dtype(s):
        return _to_text(s.astype(object))
    return to_text(s.astype(object))


def blank_mask(s: pd.Series) -> pd.Series:
    """``True`` where a raw value is missing or only spaces."""
    s = as_objects(s)
    if _all_text(s):
        return s.isna() | (s.astype(object).str.strip() == "").fillna(True).astype(bool)
    if is_object_dtype(s) or is_string_dtype(s):
        return s.isna() | s.map(lambda v: isinstance(v, str) and not v.strip())
    return s.isna()


def _from_numbers(x: pd.Series, tz: str) -> tuple[pd.Series, pd.Series]:
    """Numbers in a date column: Excel serial days (< 100000, local), Unix seconds or ms (UTC)."""
    out = pd.Series(pd.NaT, index=x.index, dtype="datetime64[ns]")
    serial = (x > 0) & (x < 100_000)
    # Unix times past 2262-04-11 cannot be held in datetime64[ns]: unreadable, not an error
    top = pd.Timestamp.max.value / 1e9  # the last representable second since 1970
    secs = (x >= 1e9) & (x < min(1e10, top))
    ms = (x >= 1e11) & (x < min(1e14, top * 1e3))
    if serial.any():
        out[serial] = EXCEL_EPOCH + pd.to_timedelta(x[serial] * 86400.0, unit="s").round("s")
    for mask, unit in ((secs, "s"), (ms, "ms")):
        if mask.any():
            ts = pd.to_datetime(x[mask], unit=unit, utc=True).dt.tz_convert(tz).dt.tz_localize(None)
            out[mask] = ts.astype("datetime64[ns]")
    invalid = x.notna() & ~(serial | secs | ms)
    return out, invalid


def parse_datetimes(s: pd.Series, tz: str, *, date_only: bool) -> tuple[pd.Series, pd.Series]:
    """Parse a date or timestamp column to naive ``datetime64[ns]`` in zone ``tz``.

    Returns ``(values, invalid)``. ``date_only`` cuts each value to midnight of its local date.
    """
    parse = _parse_datetimes
    if len(s) >= _PER_VALUE_MIN_ROWS and _all_text(s):
        parse = _parse_text_datetimes
    fast = _per_value(s, lambda u: parse(u, tz, date_only=date_only))
    if fast is not None:
        return fast[0], fast[1]
    if len(s) > _CHUNK_ROWS:  # element-wise: in slices, to bound the temporary arrays
        parts = [
            parse(s.iloc[i : i + _CHUNK_ROWS], tz, date_only=date_only)
            for i in range(0, len(s), _CHUNK_ROWS)
        ]
        return pd.concat([p[0] for p in parts]), pd.concat([p[1] for p in parts])
    return parse(s, tz, date_only=date_only)


# ``2026-10-31T14:22:05+02:00`` (or a space for ``T``, or ``Z``) in ASCII: read with numpy and
# arrow instead of row by row; RE2's ``\d`` is ASCII only, so every row it matches is also one
# the general path reads as a zoned ISO timestamp, with the same result.
_ISO_ZONED = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:Z|[+-]\d{2}:\d{2})$"


def _digits(sel: pa.Array, start: int, stop: int) -> np.ndarray:
    """The number written in characters ``start:stop`` of each value of a string array whose
    first characters are ASCII (``_ISO_ZONED`` matched it), read from the bytes in place."""
    offsets = np.frombuffer(sel.buffers()[1], dtype=np.int32)[sel.offset : sel.offset + len(sel)]
    data = np.frombuffer(sel.buffers()[2], dtype=np.uint8)
    out = np.zeros(len(sel), dtype=np.int64)
    for k in range(start, stop):
        out = out * 10 + (data[offsets + k].astype(np.int64) - 48)
    return out


def _same_local(sel: pa.Array, local: np.ndarray) -> np.ndarray:
    """Per value: ``local`` (``datetime64[s]``, as numpy read ``YYYY-MM-DD?hh:mm:ss``) shows
    the date and time written, i.e. ``datetime_as_string(local)`` equals the text with ``T``
    for the separator, compared as numbers (no string per value)."""
    days = local.astype("datetime64[D]")
    months = local.astype("datetime64[M]")
    ym = months.astype(np.int64)  # months since 1970-01
    secs = (local - days).astype(np.int64)
    same = (ym // 12 + 1970 == _digits(sel, 0, 4)) & (ym % 12 + 1 == _digits(sel, 5, 7))
    same &= (days - months.astype("datetime64[D]")).astype(np.int64) + 1 == _digits(sel, 8, 10)
    same &= secs // 3600 == _digits(sel, 11, 13)
    same &= secs // 60 % 60 == _digits(sel, 14, 16)
    same &= secs % 60 == _digits(sel, 17, 19)
    return same & ~np.isnat(local)


def _parse_text_datetimes(s: pd.Series, tz: str, *, date_only: bool) -> tuple[pd.Series, pd.Series]:
    """:func:`_parse_datetimes` for an all-text column, zoned ISO timestamps vectorised."""
    if is_arrow_text(s):
        arr = _arrow(s)
    else:
        values = s.to_numpy(dtype=object, na_value=None)
        arr = pa.array(values, type=pa.string(), from_pandas=True)
    fast = pc.match_substring_regex(arr, _ISO_ZONED).fill_null(False).to_numpy(zero_copy_only=False)
    if not fast.any():
        return _parse_datetimes(s, tz, date_only=date_only)
    sel = arr.filter(pa.array(fast))
    if pa.types.is_large_string(sel.type):
        sel = sel.cast(pa.string())
    local_text = pc.utf8_slice_codeunits(sel, 0, 19).to_numpy(zero_copy_only=False)
    try:
        local = local_text.astype("datetime64[s]")
    except ValueError:  # an impossible date or time: the general path reports it
        return _parse_datetimes(s, tz, date_only=date_only)
    del local_text
    same = _same_local(sel, local)  # the values numpy read as written, not normalised
    zulu = pc.equal(pc.utf8_length(sel), 20).to_numpy(zero_copy_only=False)
    off = pc.utf8_slice_codeunits(sel, 19, 25)
    hh = pc.cast(pc.if_else(zulu, "000", pc.utf8_slice_codeunits(off, 1, 3)), pa.int64())
    mm = pc.cast(pc.if_else(zulu, "000", pc.utf8_slice_codeunits(off, 4, 6)), pa.int64())
    hh = hh.to_numpy(zero_copy_only=False)
    mm = mm.to_numpy(zero_copy_only=False)
    minus = pc.starts_with(off, "-").to_numpy(zero_copy_only=False) & ~zulu
    ok = same & (hh <= 14) & (mm <= 59)
    offset = np.where(minus, -1, 1) * (hh * 3600 + mm * 60)
    utc = (local - offset.astype("timedelta64[s]")).astype("datetime64[ns]")
    conv = pd.DatetimeIndex(utc).tz_localize("UTC").tz_convert(tz).tz_localize(None)
    conv = conv.to_numpy().astype("datetime64[ns]")
    where = np.flatnonzero(fast)[ok]
    values_out = np.full(len(s), np.datetime64("NaT"), dtype="datetime64[ns]")
    values_out[where] = conv[ok]
    invalid = np.zeros(len(s), dtype=bool)
    rest = np.ones(len(s), dtype=bool)
    rest[where] = False
    if rest.any():
        r_out, r_bad = _parse_datetimes(s[rest], tz, date_only=date_only)
        values_out[rest] = r_out.to_numpy(dtype="datetime64[ns]")
        invalid[rest] = r_bad.to_numpy(dtype=bool)
    out = pd.Series(values_out, index=s.index, dtype="datetime64[ns]")
    if date_only:
        out = out.dt.normalize()
    return out.astype("datetime64[ns]"), pd.Series(invalid, index=s.index, dtype=bool)


def _parse_datetimes(s: pd.Series, tz: str, *, date_only: bool) -> tuple[pd.Series, pd.Series]:
    s = as_objects(s)
    idx = s.index
    if is_datetime64_any_dtype(s):
        vals = s
        if getattr(s.dt, "tz", None) is not None:
            vals = s.dt.tz_convert(tz).dt.tz_localize(None)
        out = vals.astype("datetime64[ns]")
        invalid = pd.Series(False, index=idx)
    elif is_numeric_dtype(s) and not is_bool_dtype(s):
        out, invalid = _from_numbers(s.astype(float), tz)
    else:
        out = pd.Series(pd.NaT, index=idx, dtype="datetime64[ns]")
        invalid = pd.Series(False, index=idx)
        obj = s.astype(object)
        blank = blank_mask(obj)
        if _all_text(obj):
            is_dt = pd.Series(False, index=idx)
        else:
            is_dt = obj.map(lambda v: isinstance(v, dt.date | pd.Timestamp)) & ~blank
        if is_dt.any():
            conv = obj[is_dt].map(
                lambda v: (
                    pd.Timestamp(v).tz_convert(tz).tz_localize(None)
                    if pd.Timestamp(v).tzinfo is not None
                    else pd.Timestamp(v)
                )
            )
            out[is_dt] = pd.to_datetime(conv).astype("datetime64[ns]")
        rest = ~blank & ~is_dt
        if rest.any():
            text = (
                obj[rest].str.strip()
                if _all_text(obj[rest])
                else obj[rest].map(lambda v: v.strip() if isinstance(v, str) else v)
            )
            num = pd.to_numeric(text, errors="coerce")
            # plain digits: Excel serial / Unix time only when in those ranges, else ISO basic
            isnum = num.notna() & ~text.astype(str).str.fullmatch(r"\d{8}")
            if isnum.any():
                vals, bad = _from_numbers(num[isnum].astype(float), tz)
                out[vals.index] = vals
                invalid[bad.index] = bad
            strs = text[~isnum].astype(str)
            if len(strs):
                zoned = strs.str.contains(_ZONED)
                if zoned.any():
                    z = pd.to_datetime(strs[zoned], format="ISO8601", errors="coerce", utc=True)
                    z = z.dt.tz_convert(tz).dt.tz_localize(None).astype("datetime64[ns]")
                    out[z.index] = z
                    invalid[z.index] = z.isna()
                if (~zoned).any():
                    n = pd.to_datetime(strs[~zoned], format="ISO8601", errors="coerce")
                    n = n.astype("datetime64[ns]")
                    out[n.index] = n
                    invalid[n.index] = n.isna()
    if date_only:
        out = out.dt.normalize()
    return out.astype("datetime64[ns]"), invalid.astype(bool)


def parse_numbers(s: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Parse a number column to ``float64``; returns ``(values, invalid)``."""
    fast = _per_value(s, _parse_numbers)
    if fast is not None:
        return fast[0], fast[1]
    return _parse_numbers(s)


def _parse_numbers(s: pd.Series) -> tuple[pd.Series, pd.Series]:
    s = as_objects(s)
    idx = s.index
    if is_bool_dtype(s):
        return s.astype(float), pd.Series(False, index=idx)
    if is_numeric_dtype(s):
        vals = s.astype(float)
        bad = np.isinf(vals)
        return vals.where(~bad), pd.Series(bad, index=idx)
    obj = s.astype(object)
    blank = blank_mask(obj)
    isstr = (pd.Series(True, index=idx) if _all_text(obj) else obj.map(_isstr)) & ~blank
    out = pd.Series(np.nan, index=idx, dtype=float)
    nonstr = ~blank & ~isstr
    if nonstr.any():
        out[nonstr] = pd.to_numeric(obj[nonstr], errors="coerce")
    if isstr.any():
        plain = obj[isstr].str.strip()
        out[isstr] = pd.to_numeric(plain, errors="coerce").astype(float)
        rest = isstr & out.isna()  # only these need the slower clean-up
        if rest.any():
            t = plain[rest[isstr]].str.replace(_CURRENCY_SYMBOLS, "", regex=True)
            pct = t.str.endswith("%")
            t = t.str.rstrip("%").str.strip()
            thousands = t.str.match(_THOUSANDS)
            t = t.where(~thousands, t.str.replace(r"[,' ]", "", regex=True))
            vals = pd.to_numeric(t, errors="coerce").astype(float)
            out[rest] = vals.where(~pct, vals / 100.0)
    out = out.where(~np.isinf(out))
    invalid = ~blank & out.isna()
    return out, invalid


def parse_integers(s: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Parse a whole-number column to nullable ``Int64``; a fraction is invalid."""
    vals, invalid = parse_numbers(s)
    frac = vals.notna() & (vals != np.floor(vals))
    vals = vals.where(~frac)
    return vals.round().astype("Int64"), invalid | frac


def parse_bools(s: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Parse a yes/no column to an object series of ``True``/``False``/``None``."""
    fast = _per_value(s, _parse_bools)
    if fast is not None:
        return fast[0], fast[1]
    return _parse_bools(s)


def _parse_bools(s: pd.Series) -> tuple[pd.Series, pd.Series]:
    s = as_objects(s)
    text = to_text(s)
    low = text.map(lambda v: v.lower() if isinstance(v, str) else v)
    out = pd.Series(
        np.where(low.isin(TRUE_WORDS), True, np.where(low.isin(FALSE_WORDS), False, None)),
        index=s.index,
        dtype=object,
    )
    invalid = text.notna() & out.isna()
    return out, invalid


def parse_periods(s: pd.Series, *, month_only: bool) -> tuple[pd.Series, pd.Series]:
    """Period text: ``2026-10``, ``2026-Q4`` or ``2026`` (``month_only``: ``2026-10`` only).

    A full date (``2026-10-01``, an Excel date cell) is cut to its month.
    """
    fast = _per_value(s, lambda u: _parse_periods(u, month_only=month_only))
    if fast is not None:
        return fast[0], fast[1]
    return _parse_periods(s, month_only=month_only)


def _parse_periods(s: pd.Series, *, month_only: bool) -> tuple[pd.Series, pd.Series]:
    s = as_objects(s)
    text = to_text(s)
    out = text.copy()
    is_date = text.str.match(r"^\d{4}-\d{2}-\d{2}", na=False).astype(bool)
    if is_date.any():
        d = pd.to_datetime(text[is_date].str[:10], format="%Y-%m-%d", errors="coerce")
        out[is_date] = d.dt.strftime("%Y-%m").where(d.notna(), text[is_date])
    out = out.map(lambda v: v.upper() if isinstance(v, str) and "q" in v.lower() else v)
    pattern = MONTH_RE if month_only else PERIOD_RE
    ok = out.map(lambda v: isinstance(v, str) and bool(pattern.match(v)))
    invalid = out.notna() & ~ok
    return out.where(ok, None).astype(object), invalid


def normalise_category(s: pd.Series, *, closed_set: bool) -> tuple[pd.Series, pd.Series]:
    """Lower-case category values; returns ``(values, changed)``.

    Spaces are collapsed; for a closed set of values (``status``,
    ``forecast_category``, ``type``) spaces and hyphens become ``_``
    (``Best Case`` -> ``best_case``). ``changed`` marks values whose text changed
    beyond surrounding spaces.
    """
    fast = _per_value(s, lambda u: _normalise_category(u, closed_set=closed_set))
    if fast is not None:
        return fast[0], fast[1]
    return _normalise_category(s, closed_set=closed_set)


def _normalise_category(s: pd.Series, *, closed_set: bool) -> tuple[pd.Series, pd.Series]:
    s = as_objects(s)
    text = to_text(s)
    low = text.str.lower().str.replace(r"\s+", " ", regex=True)
    if closed_set:
        low = low.str.replace(r"[\s\-]+", "_", regex=True)
    low = low.astype(object).where(text.notna(), None)
    changed = text.notna() & (low != text)
    return low, changed.astype(bool)


def parse_currency(s: pd.Series) -> pd.Series:
    """Currency codes: stripped text upper-cased, ``None`` where blank."""
    fast = _per_value(s, lambda u: (_parse_currency(u),))
    return fast[0] if fast is not None else _parse_currency(as_objects(s))


def _parse_currency(s: pd.Series) -> pd.Series:
    vals = to_text(s).str.upper().astype(object)
    return vals.where(vals.notna(), None)
