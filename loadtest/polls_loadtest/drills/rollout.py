"""Release N+1 beside release N on one compose stack: build its images, run its migrate, roll replicas.

A release is the stack's own compose files plus an override that names the release's images (and
nothing else): its migrate is `compose run` of the stack's migrate with it, and its replicas come
from the stack driver's rolling restart with it (polls_loadtest.stack: `compose up --no-recreate`
keeps the old replicas and starts each new one from the service's own definition, as a
Deployment's rolling update does when a release changes the image). When the drill ends, the
stack's own files make `compose up` recreate every replica as release N.
"""

import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from polls_loadtest.stack import Stack
from polls_loadtest.stack.compose import REPO, StackError, docker, override_file, process

RELEASE_FILES = REPO / "loadtest" / "release"
# The services a release rolls, one replica at a time, and so the images it builds (beat and
# migrate run worker's; beat is replaced, not rolled: exactly one, ever).
ROLLED = ("web", "api", "worker")


class ReleaseError(RuntimeError):
    """A release could not be built or rolled out; the message names the step."""


@dataclass(frozen=True)
class Release:
    """A release after N: its name (image tag suffix) and the patches that make it from services/."""

    name: str
    title: str
    patches: tuple[str, ...]


def source_tree(patches: tuple[str, ...], folder: Path, *, step: str, services: Path = REPO / "services") -> Path:
    """Copy services/ into `folder` and apply the patches of loadtest/release/ in order; return the copy.

    A patch that no longer applies (services/ moved under it) stops here, naming the step and the
    patch, rather than building a release that is not the one the drill describes.
    """
    shutil.copytree(services, folder / "services", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for name in patches:
        patch = RELEASE_FILES / name
        # Outside any repository (a temporary folder) git apply is a plain patch tool, relative to -C.
        done = process(["git", "-C", str(folder), "apply", str(patch)], timeout=60)
        if done.returncode != 0:
            raise ReleaseError(
                f"{step}: {patch.relative_to(REPO)} no longer applies to services/ (the code it changes has "
                f"moved). Make the change again on the current tree and write the patch anew "
                f"(loadtest/release/README.md).\n{done.stderr[-2000:]}"
            )
    return folder / "services"


def build(stack: Stack, release: Release) -> str:
    """Build the images of a release (services/ plus its patches) under their own tag; return the tag.

    The tag is the stack's own tag plus the release's name (release-n1...), so nothing retags the
    images any other stack runs.
    """
    tag = f"{stack.image_tag or 'dev'}-{release.name}"
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix=f"polls-{release.name}-") as tmp:
        step = f"release {release.title} ({' + '.join(release.patches)})"
        services = source_tree(release.patches, Path(tmp), step=step)
        # Compose builds them from the stack's own files with only the context moved to the copy and
        # the release's image names: the same build arguments (base images), and the build cache of
        # the stack's own images, so only the layers from the first changed file on are built again.
        built = {service: {"build": {"context": str(services)}, "image": image(service, tag)} for service in ROLLED}
        print(f"   building {', '.join(spec['image'] for spec in built.values())}")
        with override_file(built) as release_file:
            try:
                stack.compose("build", *ROLLED, extra_files=(release_file,), timeout=1200)
            except StackError as error:
                raise ReleaseError(f"release {release.name}: building its images failed: {error}") from error
    print(f"   release {release.name} built in {time.monotonic() - began:.0f} s")
    return tag


def image(service: str, tag: str) -> str:
    """The image a service of the stack runs in the release tagged `tag` (beat and migrate: worker's)."""
    return f"polls/{'worker' if service in ('worker', 'beat', 'migrate') else service}:{tag}"


def override(tag: str, *, beat_env: dict[str, str] | None = None) -> dict[str, dict]:
    """The services a release changes (compose's override_file): their images, and extra environment
    for beat if given."""
    services = {service: {"image": image(service, tag)} for service in (*ROLLED, "beat", "migrate")}
    if beat_env:
        services["beat"]["environment"] = beat_env
    return services


def image_of(container: str) -> str:
    """Return the image name a container was started from (polls/web:release-n1...)."""
    return docker("inspect", "--format", "{{.Config.Image}}", container).strip()


def replace_beat(stack: Stack, release_file: str) -> None:
    """Replace beat, which runs exactly once: compose stops the old one before it starts the new one."""
    stack.scale("beat", 1, recreate=True, deps=False, extra_files=(release_file,))


def migrate(stack: Stack, release_file: str, *, release: str) -> float:
    """Run the release's migrate (the stack's migrate service, the locked command) to completion in a
    one-off container; return how long it took."""
    began = time.monotonic()
    try:
        stack.compose("run", "--rm", "--no-deps", "migrate", extra_files=(release_file,), timeout=600)
    except StackError as error:
        raise ReleaseError(f"release {release}: migrate failed: {error}") from error
    return time.monotonic() - began
