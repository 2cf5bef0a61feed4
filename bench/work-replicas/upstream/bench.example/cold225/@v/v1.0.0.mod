module bench.example/cold225

go 1.21
