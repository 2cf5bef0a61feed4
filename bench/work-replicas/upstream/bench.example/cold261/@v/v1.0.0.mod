module bench.example/cold261

go 1.21
