"""The console (#17): county staff and enterprises work in a browser, in Chinese. It calls the
four services' HTTP APIs with the signed-in person's token and keeps no business data."""
