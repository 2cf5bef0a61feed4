module bench.example/cold142

go 1.21
