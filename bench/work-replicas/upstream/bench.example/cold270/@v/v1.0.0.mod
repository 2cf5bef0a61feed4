module bench.example/cold270

go 1.21
