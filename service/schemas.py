"""Request bodies and the model description returned by /v1/models."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr

from service.noise import SEED_MAX, Method
from service.registry import Registry, ServedModel

BASE64 = r"^(data:[^,]*,)?(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$"
# A class, by index or by name: the one label type of the API. Strict, so that JSON true never becomes class 1.
Label = StrictInt | StrictStr
Seed = Annotated[int, Field(ge=0, le=SEED_MAX)]


class OutputOptions(BaseModel):
    """How the answer is encoded, beside the Accept header (see service.negotiation)."""

    model_config = ConfigDict(extra="forbid")

    format: Literal["png", "jpeg", "webp", "npy"] | None = Field(
        None,
        description="format of the pictures in a JSON answer (default png); with an image Accept it may only repeat it",
    )
    quality: int | None = Field(None, ge=1, le=100, description="jpeg/webp quality (default: the server's)")


class GenerateRequest(OutputOptions):
    n: int = Field(1, ge=1, description="number of images (up to GANSERVE_MAX_IMAGES_PER_REQUEST)")
    seed: int | None = Field(None, ge=0, le=SEED_MAX, description="image i uses seed+i; drawn by the server if absent")
    labels: Label | list[Label] | None = Field(
        None,
        description="class index or name, one for all images or one per image (conditional models only); "
        "absent: image i gets class (seed+i) mod num_classes",
    )
    truncation: float = Field(1.0, gt=0.0, le=1.0, description="scales the noise toward its mean")
    version: str | None = None
    deadline_ms: int | None = Field(None, ge=1, description="shorten the server's deadline for this request")


class InterpolateRequest(OutputOptions):
    seeds: list[Seed] = Field(min_length=2, max_length=2, description="the seeds at t = 0 and t = 1")
    labels: list[Label] | None = Field(
        None, min_length=2, max_length=2, description="conditional models: the classes at t = 0 and t = 1"
    )
    steps: int = Field(8, ge=2, le=64, description="images, both ends included")
    method: Method = "slerp"
    truncation: float = Field(1.0, gt=0.0, le=1.0)
    version: str | None = None
    deadline_ms: int | None = Field(None, ge=1)


class TranslateRequest(OutputOptions):
    image: str = Field(
        min_length=1,
        description="PNG or JPEG, base64 (a data: URL prefix is fine)",
        json_schema_extra={"pattern": BASE64},
    )  # documented, not enforced: bad base64 is a 400
    version: str | None = None
    deadline_ms: int | None = Field(None, ge=1)


def model_info(model: ServedModel, registry: Registry) -> dict[str, Any]:
    m = model.manifest
    return {
        "name": m.name,
        "version": m.version,
        "versions": registry.versions(m.name),
        "kind": m.kind.value,
        "image": m.image.model_dump(),
        "input_image": m.input_image.model_dump() if m.input_image else None,
        "latent_dim": m.latent_dim,
        "num_classes": m.num_classes,
        "class_names": m.class_names,
        "provider": model.provider,
        "description": m.description,
        "provenance": m.provenance,
        # a graph with a fixed batch of 1 runs one row at a time; say so, since it bounds its throughput
        "max_batch_size": model.batcher.max_batch_size,
        "fixed_batch": m.fixed_batch,
    }
