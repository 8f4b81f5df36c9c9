// beamline-router entry point (being built: see issue #2).
int main() { return 0; }
