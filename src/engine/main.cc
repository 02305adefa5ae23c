// Placeholder until the engine is wired (being written now).
int main() { return 0; }
