module bench.example/cold182

go 1.21
