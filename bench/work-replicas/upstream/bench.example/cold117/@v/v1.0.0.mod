module bench.example/cold117

go 1.21
