"""The in-memory form of one simulated (or recorded) video and its metadata.

This is the contract between the packages: a segmentation method receives ``video.frames`` and
``video.meta``; the benchmark compares its output with ``video.labels`` and the tables.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["VideoMeta", "Video", "Table", "PARTICLE_COLUMNS", "TRACK_COLUMNS", "EVENT_COLUMNS"]

#: A table is a list of rows (dicts).  Written to CSV with these columns first, in this order.
Table = list[dict[str, Any]]

#: ``chain_id``: the chain (connected component of the contact graph, outlines within
#: ``dynamics.contact_nm``) the particle belongs to at that frame, named by its smallest track id
#: in view (:func:`simulator.dynamics.chains.chain_ids`); a lone particle is its own chain.
PARTICLE_COLUMNS = (
    "frame", "id", "x_nm", "y_nm", "angle_rad", "area_nm2", "perimeter_nm",
    "shape", "material", "thickness_nm", "D_nm2_s", "Dr_rad2_s", "chain_id",
)
TRACK_COLUMNS = ("id", "first_frame", "last_frame", "parents")
EVENT_COLUMNS = ("frame", "kind", "ids")


@dataclass(frozen=True)
class VideoMeta:
    """What a segmentation method may know about a video besides its pixels.

    Attributes
    ----------
    video_id : str
    shape : (T, Y, X)
    pixel_size_nm : float
        Pixel size at the sample (nm).
    frame_interval_s : float
        Time between frames (s).
    mode : {"bright-field", "haadf"}
        Bright-field: particles darker than the liquid; HAADF: particles brighter.
    exposure_s, dose_rate_e_per_A2_s : float
        Exposure time (s) and dose rate (e⁻/Å²/s); NaN when unknown (real data).
    preset : str
        Scenario the video was simulated from ("" for real data).
    seed : int
        Seed of this video (-1 for real data).
    """

    video_id: str
    shape: tuple[int, int, int]
    pixel_size_nm: float
    frame_interval_s: float
    mode: str = "bright-field"
    exposure_s: float = float("nan")
    dose_rate_e_per_A2_s: float = float("nan")
    preset: str = ""
    seed: int = -1
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def particles_bright(self) -> bool:
        """True when particles are brighter than the background (HAADF-STEM)."""
        return self.mode == "haadf"

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["shape"] = list(self.shape)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "VideoMeta":
        names = {f.name for f in dataclasses.fields(cls)}
        kw = {k: v for k, v in d.items() if k in names}
        kw["shape"] = tuple(int(s) for s in kw["shape"])
        return cls(**kw)


@dataclass
class Video:
    """One video with its exact ground truth.

    Attributes
    ----------
    meta : VideoMeta
    frames : (T, Y, X) uint16
        Recorded counts.
    labels : (T, Y, X) uint32
        Instance labels, 0 = background; a particle keeps its track id in every frame.
    particles : Table
        One row per particle per frame (columns :data:`PARTICLE_COLUMNS` and more).
    tracks : Table
        One row per track: id, first_frame, last_frame, parents (space-separated ids, CTC lineage).
    events : Table
        frame, kind (nucleate, dissolve, merge, split, enter, leave), ids (space-separated).
    config : dict
        The fully resolved configuration (JSON-able).
    potential : Table or None
        The simulated pair potential, rows of r_nm, U_kT (when interactions are on; of two
        nuclei in a scene that starts without particles, None if it has no nucleation either).
    """

    meta: VideoMeta
    frames: np.ndarray
    labels: np.ndarray
    particles: Table = field(default_factory=list)
    tracks: Table = field(default_factory=list)
    events: Table = field(default_factory=list)
    config: dict[str, Any] = field(default_factory=dict)
    potential: Table | None = None
