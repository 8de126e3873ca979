from ldpy.main import entry

entry()
