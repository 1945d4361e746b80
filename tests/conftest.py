pytest_plugins = ["conftest_storage", "conftest_bot"]
