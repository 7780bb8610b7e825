"""media: the only code that talks to S3; records every object it stores in media_objects."""
