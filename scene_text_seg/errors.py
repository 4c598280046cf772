"""The errors every dataset of the family raises: each message names the file or archive member."""


class SceneTextSegError(Exception):
    """Bad or missing input: the message names the file or archive member, what was expected and found."""


class MissingInputError(SceneTextSegError, FileNotFoundError):
    """An expected input file is not in `data_dir`."""


class InvalidInputError(SceneTextSegError, ValueError):
    """An input exists but its content is not what the dataset holds."""


class ChecksumMismatchError(InvalidInputError):
    """An input's size or digest differs from the published one."""


class CacheFolderError(SceneTextSegError, PermissionError):
    """The datasets cache folder cannot be written."""


class CacheFolderFullError(CacheFolderError):
    """The datasets cache folder ran out of space, of disk quota, or hit the file-size limit during a build."""


class PublishError(SceneTextSegError):
    """The export folder or the Hub refused the operation."""
