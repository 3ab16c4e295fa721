"""Libraries opened together (a folder of them, or one file), and finding a prompt in them.

A prompt is named by its name, or ``NAME#N`` for the N-th of several prompts sharing one;
`Collection.resolve` says plainly when a name is missing (with close ones) or ambiguous.
Files that cannot be read are kept as errors, never fatal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from .library import Library, LibraryError, read_library
from .spec import PromptSpec


class PromptLookupError(LookupError):
    """No prompt, or more than one, answers to a name; the message lists what there is."""


@dataclass
class Collection:
    """A set of libraries opened together, and the files that could not be opened."""

    root: Path
    libraries: list[Library] = field(default_factory=list)
    errors: list[LibraryError] = field(default_factory=list)

    @property
    def problems(self) -> list[str]:
        return [str(e) for e in self.errors] + [p for lib in self.libraries for p in lib.problems]

    def named(self, name: str) -> list[tuple[Library, PromptSpec]]:
        """Every prompt called ``name``, in collection order."""
        return [(library, spec) for library in self.libraries for spec in library.prompts
                if spec.name == name]

    def find(self, name: str) -> tuple[Library, PromptSpec] | None:
        """The prompt called ``name`` (the first, if several are), or ``NAME#N``: the Nth
        prompt called NAME."""
        found = self.named(name)
        if found:
            return found[0]
        picked = _ORDINAL.match(name)
        if picked:
            found = self.named(picked["name"])
            number = int(picked["n"])
            if 1 <= number <= len(found):
                return found[number - 1]
        return None

    def resolve(self, name: str) -> tuple[Library, PromptSpec]:
        """The one prompt ``name`` means; raises `PromptLookupError` when there is none
        (with the names that come close) or several (listed as ``NAME#N``)."""
        found = self.named(name)
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            listed = "; ".join(f"{printable_name(name)}#{i} ({library.path.name})"
                               for i, (library, _) in enumerate(found, start=1))
            raise PromptLookupError(f"{len(found)} prompts are named "
                                    f"{printable_name(name)!r}: {listed}; give "
                                    f"'{printable_name(name)}#N' to pick one")
        picked = self.find(name)
        if picked is not None:
            return picked
        names = [s.name for lib in self.libraries for s in lib.prompts]
        ordinal = _ORDINAL.match(name)
        wanted = (ordinal["name"] if ordinal else name).lower()
        close = list(dict.fromkeys(n for n in names if wanted in n.lower()))[:8]
        raise PromptLookupError(
            f"no prompt named {printable_name(name)!r} in {printable_name(str(self.root))}"
            + (f"; did you mean: {', '.join(printable_name(n) for n in close)}"
               if close else ""))


_ORDINAL = re.compile(r"^(?P<name>.+)#(?P<n>\d{1,6})$", re.S)


def printable_name(text: str) -> str:
    """A name or path for a message: one line, nothing a terminal would act on."""
    from .textsafe import one_line

    return one_line(text)


def library_files(root: Path) -> list[Path]:
    root = Path(root)
    if root.is_file():
        return [root]
    return sorted(p for p in root.rglob("*.toml")
                  if not any(part.startswith(".") for part in p.relative_to(root).parts))


def load_collection(root: Path) -> Collection:
    """Every library under ``root`` (a file or a folder), read for display
    (`read_library`); broken files are reported, not fatal."""
    collection = Collection(Path(root))
    if not Path(root).exists():
        collection.errors.append(LibraryError(Path(root), "no such file or folder"))
        return collection
    for path in library_files(root):
        try:
            collection.libraries.append(read_library(path))
        except LibraryError as exc:
            collection.errors.append(exc)
    return collection
