"""GeoJSON handling for territory nodes: validation, bounding boxes, point containment (shapely)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from shapely.geometry import Point, shape
from shapely.geometry.base import BaseGeometry

from civicgrid.core.errors import ApplicationError

ALLOWED_TYPES = frozenset({"Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon"})


def parse_geometry(geojson: Any) -> BaseGeometry:
    """A shapely geometry from a GeoJSON geometry (or Feature); ApplicationError if it is not valid."""
    if isinstance(geojson, dict) and geojson.get("type") == "Feature":
        geojson = geojson.get("geometry")
    if not isinstance(geojson, dict) or geojson.get("type") not in ALLOWED_TYPES:
        raise ApplicationError(_("空间范围不是有效的 GeoJSON 几何对象"))
    try:
        geometry = shape(geojson)
    except (ValueError, TypeError, AttributeError, IndexError, KeyError) as exc:
        raise ApplicationError(_("GeoJSON 解析失败：%(error)s") % {"error": exc}) from exc
    if geometry.is_empty:
        raise ApplicationError(_("空间范围为空"))
    min_lon, min_lat, max_lon, max_lat = geometry.bounds
    if not (-180 <= min_lon <= max_lon <= 180 and -90 <= min_lat <= max_lat <= 90):
        raise ApplicationError(_("坐标超出经纬度范围"))
    if geometry.geom_type in {"Polygon", "MultiPolygon"} and not geometry.is_valid:
        raise ApplicationError(_("多边形自相交或不闭合"))
    return geometry


def bounding_box(geometry: BaseGeometry) -> tuple[float, float, float, float]:
    """(min_lon, min_lat, max_lon, max_lat)."""
    return tuple(geometry.bounds)  # type: ignore[return-value]


def contains(geojson: dict[str, Any], lon: float, lat: float, *, tolerance: float = 0.0) -> bool:
    """Whether the geometry contains the point; lines and points count within `tolerance` degrees."""
    geometry = shape(geojson)
    point = Point(lon, lat)
    if geometry.geom_type in {"Polygon", "MultiPolygon"}:
        return bool(geometry.covers(point))
    return bool(geometry.distance(point) <= tolerance)
