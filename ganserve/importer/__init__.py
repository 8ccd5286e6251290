"""`ganserve import`: turn an ONNX generator trained anywhere into a served model version.

    from ganserve.importer import ImportOptions, import_model
    result = import_model(Path("generator.onnx"), ImportOptions(name="my-dcgan"))
    result.version_dir, result.notes     # models/my-dcgan/1, what was inferred and how

graph.py reads the file; roles.py and plan.py turn it plus the flags (options.py) into a manifest or refuse,
naming the flag to add;
publish.py checks it through the service's own runtime and writes the version folder atomically.
"""

from ganserve.importer.errors import ImportRefused
from ganserve.importer.options import ImportOptions
from ganserve.importer.publish import ImportResult, import_model

__all__ = ["ImportOptions", "ImportRefused", "ImportResult", "import_model"]
