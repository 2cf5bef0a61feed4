module bench.example/cold281

go 1.21
