"""The front-end packages from npm (package.json; scripts/setup.sh installs them into
node_modules) that pages load, served as static files under vendor/: only the built files
named here, not the packages' whole folders (maplibre-gl's and echarts' dist folders hold
~50 MB of sources and maps that collectstatic would copy and compress)."""

from pathlib import Path

from django.contrib.staticfiles.finders import BaseFinder
from django.core.files.storage import FileSystemStorage

NODE_MODULES = Path(__file__).resolve().parent.parent / "node_modules"

#: The static path each page asks for → the file in node_modules.
VENDOR_FILES = {
    "vendor/vectorgrid/Leaflet.VectorGrid.bundled.min.js":
        "leaflet.vectorgrid/dist/Leaflet.VectorGrid.bundled.min.js",
    "vendor/maplibre-gl/maplibre-gl.js": "maplibre-gl/dist/maplibre-gl.js",
    "vendor/maplibre-gl/maplibre-gl.css": "maplibre-gl/dist/maplibre-gl.css",
    "vendor/maplibre-gl-leaflet/leaflet-maplibre-gl.js":
        "@maplibre/maplibre-gl-leaflet/dist/leaflet-maplibre-gl.js",
    "vendor/echarts/echarts.min.js": "echarts/dist/echarts.min.js",
}


class VendorFinder(BaseFinder):
    """Finds the VENDOR_FILES in node_modules, for collectstatic and WhiteNoise alike (a
    file keeps its name; its folder is the vendor/ one)."""

    def find(self, path, find_all=False, **kwargs):
        source = VENDOR_FILES.get(path)
        found = str(NODE_MODULES / source) if source and (NODE_MODULES / source).is_file() else None
        if find_all:
            return [found] if found else []
        return found

    def list(self, ignore_patterns):
        for path, source in VENDOR_FILES.items():
            if (NODE_MODULES / source).is_file():
                storage = FileSystemStorage(location=str((NODE_MODULES / source).parent))
                storage.prefix = str(Path(path).parent)
                yield Path(source).name, storage

    def check(self, **kwargs):
        from django.core.checks import Warning

        problems = [Warning(f"{path} and {source} differ in name", id="gridcare.W003")
                    for path, source in VENDOR_FILES.items() if Path(path).name != Path(source).name]
        missing = [path for path, source in VENDOR_FILES.items() if not (NODE_MODULES / source).is_file()]
        if missing:
            problems.append(Warning(f"front-end files missing from node_modules: {', '.join(missing)}",
                                    hint="run scripts/setup.sh (npm ci)", id="gridcare.W002"))
        return problems
