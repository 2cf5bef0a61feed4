module bench.example/cold204

go 1.21
