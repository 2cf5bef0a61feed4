module bench.example/cold232

go 1.21
