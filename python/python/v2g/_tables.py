"""Tables in and out: DataFrames to the CSV the library reads, columns to pyarrow.

In: a pandas DataFrame, a polars DataFrame, a pyarrow Table (or anything with the Arrow
PyCapsule stream interface), or a dict of columns, is written as the fleet/grid CSV text
that ``v2g simulate`` reads, and the library parses and validates it exactly as a file,
with the same located errors (line = data row + 1, the header being line 1). Floats are
written with ``repr`` (the shortest round-trip form), so a table and the file it came from
give the same numbers bit for bit. This is a copy (text), not zero-copy.

Out: the extension hands over each numeric column as one ``bytes`` object (one copy out of
the Rust vectors); ``numpy.frombuffer`` views it and ``pyarrow.array`` wraps that view
without another copy (an optional number's empty cell travels as NaN and becomes a null,
which costs pyarrow a validity mask). Text columns (ids, kinds) and optional booleans
(`target_met`, …) and optional integers (`branch_loading_max`) are built as Python
objects.
"""

from __future__ import annotations

import csv
import datetime as _dt
import io
import math
from typing import Any, Iterable, List, Sequence, Tuple

import numpy as np
import pyarrow as pa

from ._errors import InputError

Column = Tuple[str, str, Any]


def as_arrow(table: Any, what: str) -> pa.Table:
    """A pyarrow Table from a pandas/polars DataFrame, a pyarrow Table or a dict."""
    if isinstance(table, pa.Table):
        return table
    if isinstance(table, pa.RecordBatch):
        return pa.Table.from_batches([table])
    mod = type(table).__module__.split(".")[0]
    if mod == "pandas":
        return pa.Table.from_pandas(table, preserve_index=False)
    if mod == "polars" and hasattr(table, "to_arrow"):
        return table.to_arrow()
    if isinstance(table, dict):
        return pa.table({k: list(v) if not isinstance(v, np.ndarray) else v for k, v in table.items()})
    if hasattr(table, "__arrow_c_stream__"):
        return pa.table(table)
    raise TypeError(
        f"{what}: expected a path, a pandas or polars DataFrame, a pyarrow Table or a dict "
        f"of columns, not {type(table).__name__}"
    )


def _zoned(what: str, name: str, zone: Any) -> InputError:
    """The refusal of a column of time-zone-aware times: the library reads naive local
    times, and dropping the zone silently would shift every session."""
    return InputError(
        f"<{what} table> ({name}): the column holds time-zone-aware times ({zone}); v2g "
        f"reads naive local times: convert them first, with .dt.tz_localize(None) to keep "
        f"the wall-clock times, or .dt.tz_convert(\"ZONE\").dt.tz_localize(None) for the "
        f"times in ZONE"
    )


def _cell(v: Any, optional: bool) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        if math.isnan(v):
            return "" if optional else "NaN"
        return repr(v)
    if isinstance(v, _dt.datetime):
        fmt = "%Y-%m-%dT%H:%M:%S" if (v.second or v.microsecond) else "%Y-%m-%dT%H:%M"
        return v.strftime(fmt)
    if isinstance(v, _dt.date):
        return v.strftime("%Y-%m-%dT00:00")
    return str(v)


def to_csv_bytes(table: Any, what: str, optional: Sequence[str]) -> bytes:
    """The table as the CSV text the library reads; NaN in an optional column is empty.
    A missing value (NaN, None, NaT: a null) is an empty cell, which the library refuses in
    a required column, naming the row and the column. Time-zone-aware times are refused
    (:func:`_zoned`)."""
    t = as_arrow(table, what)
    columns: List[Iterable[str]] = []
    for name, col in zip(t.column_names, t.columns):
        if pa.types.is_timestamp(col.type) and col.type.tz is not None:
            raise _zoned(what, name, col.type.tz)
        opt = name in optional
        values = col.to_pylist()
        for v in values:
            # Aware datetimes in a column of objects (a dict of lists, say).
            if isinstance(v, _dt.datetime) and v.tzinfo is not None:
                raise _zoned(what, name, v.tzinfo)
        columns.append([_cell(v, opt) for v in values])
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(t.column_names)
    w.writerows(zip(*columns))
    return buf.getvalue().encode("utf-8")


def to_arrow(cols: Sequence[Column]) -> pa.Table:
    """A pyarrow Table from the extension's columns (see the module docs)."""
    arrays = []
    names = []
    for name, kind, values in cols:
        if kind == "f64":
            a = pa.array(np.frombuffer(values, dtype=np.float64))
        elif kind == "f64?":
            # NaN marks an empty cell of the CSV: a null here.
            a = pa.array(np.frombuffer(values, dtype=np.float64), from_pandas=True)
        elif kind == "bool?":
            a = pa.array(values, type=pa.bool_())
        elif kind == "i64?":
            # A list of int or None (an optional integer: an empty cell is a null).
            a = pa.array(values, type=pa.int64())
        elif kind == "i64":
            a = pa.array(np.frombuffer(values, dtype=np.int64))
        elif kind == "time":
            a = pa.array(np.frombuffer(values, dtype=np.int64).view("datetime64[s]"))
        else:
            a = pa.array(values, type=pa.string())
        arrays.append(a)
        names.append(name)
    return pa.Table.from_arrays(arrays, names=names)
